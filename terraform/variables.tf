variable "name" {
  description = "Name of the cluster; also the prefix of the VPC's and node pool's names (lowercase letters, digits and hyphens, 3 to 30 characters, starting with a letter)."
  type        = string
  default     = "icecream-queue"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,28}[a-z0-9]$", var.name))
    error_message = "The name must be 3 to 30 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  description = "DigitalOcean region slug for the VPC, the cluster and (by default) the registry; one that offers Kubernetes (`doctl kubernetes options regions`)."
  type        = string
  default     = "fra1"

  validation {
    condition     = contains(["ams3", "atl1", "blr1", "fra1", "lon1", "nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"], var.region)
    error_message = "The region must be a DigitalOcean region that offers Kubernetes: ams3, atl1, blr1, fra1, lon1, nyc1, nyc2, nyc3, sfo2, sfo3, sgp1, syd1 or tor1."
  }
}

variable "kubernetes_version_prefix" {
  description = "Kubernetes minor version to run, as a prefix such as \"1.34.\": the newest patch release DigitalOcean offers for it is used, and auto-upgrade keeps the patch level current (`doctl kubernetes options versions` lists what is offered)."
  type        = string
  default     = "1.34."

  validation {
    condition     = can(regex("^1\\.[0-9]+\\.$", var.kubernetes_version_prefix))
    error_message = "The Kubernetes version prefix must name a minor version and end with a dot, such as \"1.34.\"."
  }
}

variable "vpc_ip_range" {
  description = "Private IPv4 range of the VPC in CIDR notation, /16 to /24; it must not overlap another VPC in the account."
  type        = string
  default     = "10.120.0.0/20"

  validation {
    condition = (
      can(cidrnetmask(var.vpc_ip_range))
      && tonumber(try(split("/", var.vpc_ip_range)[1], 0)) >= 16
      && tonumber(try(split("/", var.vpc_ip_range)[1], 0)) <= 24
      && (
        can(regex("^10\\.", var.vpc_ip_range))
        || can(regex("^172\\.(1[6-9]|2[0-9]|3[01])\\.", var.vpc_ip_range))
        || can(regex("^192\\.168\\.", var.vpc_ip_range))
      )
    )
    error_message = "The VPC range must be a private IPv4 CIDR block (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) with a prefix length from /16 to /24, such as 10.120.0.0/20."
  }
}

variable "node_size" {
  description = "Droplet size slug of the worker nodes. Three Kafka brokers, Elasticsearch and the app need at least 4 vCPUs and 8 GB per node for headroom (s-4vcpu-8gb, about $48 a month per node)."
  type        = string
  default     = "s-4vcpu-8gb"

  validation {
    condition = (
      can(regex("^[a-z][a-z0-9_]*-[0-9]+vcpu-[0-9]+gb(-[a-z0-9-]+)?$", var.node_size))
      && try(tonumber(regex("-([0-9]+)vcpu-", var.node_size)[0]) >= 4, false)
      && try(tonumber(regex("vcpu-([0-9]+)gb", var.node_size)[0]) >= 8, false)
    )
    error_message = "The node size must be a Droplet size slug like s-4vcpu-8gb with at least 4 vCPUs and 8 GB of memory: Kafka, Elasticsearch and the app do not fit in less."
  }
}

variable "node_count" {
  description = "Number of worker nodes the pool starts with (at least 3: one per Kafka broker and Elasticsearch node, so losing a node loses one replica)."
  type        = number
  default     = 3

  validation {
    condition     = var.node_count >= 3 && var.node_count <= 20 && floor(var.node_count) == var.node_count
    error_message = "The node count must be a whole number from 3 to 20: three Kafka brokers need three nodes."
  }
}

variable "auto_scale" {
  description = "Let the cluster autoscaler resize the node pool between min_nodes and max_nodes."
  type        = bool
  default     = true
}

variable "min_nodes" {
  description = "Fewest nodes the autoscaler keeps (at least 3, at most node_count)."
  type        = number
  default     = 3

  validation {
    condition     = var.min_nodes >= 3 && floor(var.min_nodes) == var.min_nodes
    error_message = "The minimum node count must be a whole number of at least 3: three Kafka brokers need three nodes."
  }
}

variable "max_nodes" {
  description = "Most nodes the autoscaler may add (at least node_count, at most 20); bounds the monthly bill."
  type        = number
  default     = 5

  validation {
    condition     = var.max_nodes <= 20 && floor(var.max_nodes) == var.max_nodes
    error_message = "The maximum node count must be a whole number of at most 20."
  }
}

variable "ha_control_plane" {
  description = "Run a highly available (replicated) control plane; DigitalOcean bills it separately (about $40 a month). It cannot be turned off again without recreating the cluster."
  type        = bool
  default     = false
}

variable "maintenance_day" {
  description = "Day of the weekly maintenance window in which DigitalOcean applies patch upgrades (auto-upgrade is always on)."
  type        = string
  default     = "sunday"

  validation {
    condition     = contains(["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"], var.maintenance_day)
    error_message = "The maintenance day must be any, monday, tuesday, wednesday, thursday, friday, saturday or sunday."
  }
}

variable "maintenance_start_time" {
  description = "Start of the maintenance window, HH:MM in UTC."
  type        = string
  default     = "04:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_start_time))
    error_message = "The maintenance start time must be HH:MM in UTC, such as 04:00."
  }
}

variable "control_plane_allowed_addresses" {
  description = "If not empty, turns the control-plane firewall on and allows the Kubernetes API only from these IPv4 addresses or CIDR blocks (include the machine that runs kubectl, helm and CI)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.control_plane_allowed_addresses : can(cidrnetmask(strcontains(a, "/") ? a : "${a}/32"))])
    error_message = "Each allowed address must be an IPv4 address or CIDR block, such as 203.0.113.7 or 203.0.113.0/24."
  }
}

variable "destroy_associated_resources" {
  description = "On `terraform destroy`, also delete the load balancers and block-storage volumes that Kubernetes created for the cluster (the Kafka and Elasticsearch data). Set false to keep the volumes (and keep paying for them)."
  type        = bool
  default     = true
}

variable "create_registry" {
  description = "Create a DigitalOcean Container Registry for the app image and let the cluster pull from it. An account has at most one registry: leave this false if yours already has one (and integrate it with `doctl kubernetes cluster registry add`)."
  type        = bool
  default     = false
}

variable "registry_name" {
  description = "Name of the container registry, unique across DigitalOcean (lowercase letters, digits and hyphens, 3 to 63 characters). Null uses the cluster name."
  type        = string
  default     = null

  validation {
    condition     = var.registry_name == null || can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.registry_name))
    error_message = "The registry name must be 3 to 63 lowercase letters, digits or hyphens, not starting or ending with a hyphen."
  }
}

variable "registry_subscription_tier" {
  description = "Registry plan: starter (free, one repository, 500 MiB: enough for this app's image), basic ($5 a month) or professional ($20 a month)."
  type        = string
  default     = "starter"

  validation {
    condition     = contains(["starter", "basic", "professional"], var.registry_subscription_tier)
    error_message = "The registry subscription tier must be starter, basic or professional."
  }
}

variable "registry_region" {
  description = "Region of the registry; null picks the one nearest the cluster's region among those that host registries."
  type        = string
  default     = null

  validation {
    condition     = var.registry_region == null || contains(["ams3", "blr1", "fra1", "nyc3", "sfo3", "sgp1", "syd1"], coalesce(var.registry_region, "-"))
    error_message = "The registry region must be one that hosts container registries: ams3, blr1, fra1, nyc3, sfo3, sgp1 or syd1."
  }
}

variable "tags" {
  description = "Extra tags for the cluster and its nodes (letters, digits, colons, hyphens and underscores). The tags icecream-queue and terraform are always added."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.tags : can(regex("^[A-Za-z0-9:_-]{1,255}$", t))])
    error_message = "Tags may contain only letters, digits, colons, hyphens and underscores (1 to 255 characters)."
  }
}
