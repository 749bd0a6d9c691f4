# What provision.sh turns into drover's inventory (jq): one object per host.
# Public data only: the host key is key-I.pub's "TYPE BASE64".

output "hosts" {
  description = "Per host: name, address, port, user, roles and the host key it presents."
  value = [
    for i in range(local.n) : {
      name     = local.names[i]
      address  = try(libvirt_domain.host[i].network_interface[0].addresses[0], "")
      port     = var.ssh_port
      user     = var.user
      roles    = [var.roles[i]]
      host_key = local.host_key[i]
    }
  ]
}
