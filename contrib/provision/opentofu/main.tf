# drover provisioner: one libvirt VM per role, booted from a cloud image with
# a cloud-init NoCloud seed that installs the host key pair drover generated
# for it (key-I for host I). See README.md for the contract mapping.

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    libvirt = {
      source  = "dmacvicar/libvirt"
      version = "~> 0.8.0"
    }
  }
  # provision.sh points it at a per-site state file (-backend-config=path=).
  backend "local" {}
}

provider "libvirt" {
  uri = var.libvirt_uri
}

locals {
  n = length(var.roles)

  # Host I is named after the site's first two letters and its role, counted
  # per role: fresh + [db, app, db] -> fr-db1, fr-app1, fr-db2.
  names = [
    for i, role in var.roles :
    format("%s-%s%d", substr(var.site, 0, 2), role,
    length([for j in range(i + 1) : j if var.roles[j] == role]))
  ]

  # The key files are read only when present: drover deletes the private
  # keys once the provision step ends, and a later destroy evaluates this
  # configuration again (it needs no key).
  key_path = [for i in range(local.n) : "${var.keys_dir}/key-${i + 1}"]
  host_key = [
    for p in local.key_path :
    fileexists("${p}.pub") ? join(" ", slice(split(" ", trimspace(file("${p}.pub"))), 0, 2)) : ""
  ]

  login_user = merge(
    {
      name                = var.user
      shell               = "/bin/bash"
      lock_passwd         = true
      ssh_authorized_keys = [trimspace(var.authorized_key)]
    },
    var.sudo == "" ? {} : { sudo = var.sudo }
  )

  # Built with yamlencode, never by pasting text: no key or name can break
  # the YAML. Sensitive, so plans and logs show no private key.
  user_data = [
    for i in range(local.n) : sensitive(join("\n", ["#cloud-config", yamlencode({
      hostname        = local.names[i]
      ssh_deletekeys  = true
      ssh_genkeytypes = []
      ssh_keys = {
        ed25519_private = fileexists(local.key_path[i]) ? file(local.key_path[i]) : ""
        ed25519_public  = local.host_key[i]
      }
      disable_root = true
      ssh_pwauth   = false
      users        = [local.login_user]
    })]))
  ]
}

resource "libvirt_volume" "base" {
  name   = "drover-${var.site}-base.qcow2"
  pool   = var.pool
  source = var.base_image
  format = "qcow2"
}

resource "libvirt_volume" "root" {
  count          = local.n
  name           = "drover-${var.site}-${local.names[count.index]}.qcow2"
  pool           = var.pool
  base_volume_id = libvirt_volume.base.id
  size           = var.disk_size
  format         = "qcow2"

  # New keys (a provision run again) mean a new host: a fresh disk ...
  lifecycle {
    replace_triggered_by = [libvirt_cloudinit_disk.seed[count.index].id]
  }
}

resource "libvirt_cloudinit_disk" "seed" {
  count     = local.n
  name      = "drover-${var.site}-${local.names[count.index]}-seed.iso"
  pool      = var.pool
  user_data = local.user_data[count.index]
  meta_data = yamlencode({
    "instance-id"    = "drover-${var.run_id}-${var.site}-${local.names[count.index]}"
    "local-hostname" = local.names[count.index]
  })
}

resource "libvirt_domain" "host" {
  count     = local.n
  name      = "drover-${var.site}-${local.names[count.index]}"
  memory    = var.memory
  vcpu      = var.vcpu
  cloudinit = libvirt_cloudinit_disk.seed[count.index].id

  disk {
    volume_id = libvirt_volume.root[count.index].id
  }

  network_interface {
    network_name   = var.network
    hostname       = local.names[count.index]
    wait_for_lease = true
  }

  console {
    type        = "pty"
    target_port = "0"
    target_type = "serial"
  }

  # ... and a new domain: the provider would otherwise only swap the seed
  # ISO, which cloud-init reads again on the next boot at the earliest.
  lifecycle {
    replace_triggered_by = [libvirt_cloudinit_disk.seed[count.index].id]
  }
}
