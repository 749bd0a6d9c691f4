# Inputs. provision.sh sets site, roles, keys_dir and run_id from drover's
# DROVER_* environment (in drover.auto.tfvars.json beside the state); the
# rest come from TF_VAR_* or the file named by DROVER_TOFU_VARS.

variable "site" {
  description = "The provisioned site (DROVER_SITE)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.site))
    error_message = "The site must be lower-case letters, digits and '-', starting with a letter, at most 32."
  }
}

variable "roles" {
  description = "One host per role, host I (1-based) with key-I (DROVER_ROLES)."
  type        = list(string)
  validation {
    condition     = length(var.roles) > 0 && alltrue([for r in var.roles : can(regex("^[a-z][a-z0-9-]{0,31}$", r))])
    error_message = "The roles must be a non-empty list of lower-case names (letters, digits, '-')."
  }
}

variable "keys_dir" {
  description = "drover's key directory (DROVER_KEYS): key-I, key-I.pub."
  type        = string
}

variable "run_id" {
  description = "drover's run id (DROVER_RUN_ID): part of each cloud-init instance-id."
  type        = string
  default     = "manual"
}

variable "libvirt_uri" {
  description = "The libvirt connection."
  type        = string
  default     = "qemu:///system"
}

variable "pool" {
  description = "The libvirt storage pool for disks and seed ISOs."
  type        = string
  default     = "default"
}

variable "network" {
  description = "An existing libvirt network with DHCP (addresses come from its leases)."
  type        = string
  default     = "default"
}

variable "base_image" {
  description = "A cloud image (qcow2) with cloud-init: a local path or an http(s) URL."
  type        = string
}

variable "disk_size" {
  description = "Each host's root disk, in bytes (a copy-on-write layer over base_image)."
  type        = number
  default     = 10737418240
}

variable "memory" {
  description = "MiB per host."
  type        = number
  default     = 1024
}

variable "vcpu" {
  description = "Virtual CPUs per host."
  type        = number
  default     = 1
}

variable "user" {
  description = "The login user cloud-init creates (the plan's user; ansible_user)."
  type        = string
  default     = "drover"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.user))
    error_message = "The user must be a POSIX user name."
  }
}

variable "authorized_key" {
  description = "The public key drover logs in with (the plan's identity, .pub): \"TYPE BASE64 [COMMENT]\"."
  type        = string
  validation {
    condition     = can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+=*( .*)?$", trimspace(var.authorized_key)))
    error_message = "The authorized_key must be one OpenSSH public key line."
  }
}

variable "sudo" {
  description = "The login user's sudoers rule; empty for none."
  type        = string
  default     = "ALL=(ALL) NOPASSWD:ALL"
}

variable "ssh_port" {
  description = "The port the hosts' sshd listens on (ansible_port)."
  type        = number
  default     = 22
}
