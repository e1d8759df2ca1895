locals {
  tags = distinct(concat(["icecream-queue", "terraform"], var.tags))

  # The registry-hosting region nearest each Kubernetes region.
  nearest_registry_region = {
    ams3 = "ams3", atl1 = "nyc3", blr1 = "blr1", fra1 = "fra1", lon1 = "ams3", nyc1 = "nyc3",
    nyc2 = "nyc3", nyc3 = "nyc3", sfo2 = "sfo3", sfo3 = "sfo3", sgp1 = "sgp1", syd1 = "syd1",
    tor1 = "nyc3",
  }
  registry_region = coalesce(var.registry_region, local.nearest_registry_region[var.region])
}

# Private network of the cluster: nodes talk to each other (Kafka replication, Elasticsearch)
# over it rather than over public addresses.
resource "digitalocean_vpc" "this" {
  name        = "${var.name}-vpc"
  region      = var.region
  ip_range    = var.vpc_ip_range
  description = "Private network of the ${var.name} Kubernetes cluster (icecream-queue)."
}

# The newest patch release of the chosen minor version.
data "digitalocean_kubernetes_versions" "this" {
  version_prefix = var.kubernetes_version_prefix
}

resource "digitalocean_container_registry" "this" {
  count = var.create_registry ? 1 : 0

  name                   = coalesce(var.registry_name, var.name)
  subscription_tier_slug = var.registry_subscription_tier
  region                 = local.registry_region
}

resource "digitalocean_kubernetes_cluster" "this" {
  name     = var.name
  region   = var.region
  version  = data.digitalocean_kubernetes_versions.this.latest_version
  vpc_uuid = digitalocean_vpc.this.id
  tags     = local.tags

  # Patch releases are applied in the maintenance window; surge upgrades replace nodes by
  # creating the new ones first, so the three Kafka brokers keep their quorum while upgrading.
  auto_upgrade  = true
  surge_upgrade = true
  ha            = var.ha_control_plane

  # Lets every namespace pull from the registry created here (needs the registry first).
  registry_integration = var.create_registry

  destroy_all_associated_resources = var.destroy_associated_resources

  maintenance_policy {
    day        = var.maintenance_day
    start_time = var.maintenance_start_time
  }

  dynamic "control_plane_firewall" {
    for_each = length(var.control_plane_allowed_addresses) > 0 ? [1] : []
    content {
      enabled           = true
      allowed_addresses = var.control_plane_allowed_addresses
    }
  }

  node_pool {
    name       = "${var.name}-default"
    size       = var.node_size
    node_count = var.node_count
    auto_scale = var.auto_scale
    min_nodes  = var.auto_scale ? var.min_nodes : null
    max_nodes  = var.auto_scale ? var.max_nodes : null
    tags       = local.tags
    labels = {
      "app.kubernetes.io/part-of" = "icecream-queue"
    }
  }

  depends_on = [digitalocean_container_registry.this]

  lifecycle {
    precondition {
      condition     = data.digitalocean_kubernetes_versions.this.latest_version != ""
      error_message = "DigitalOcean offers no Kubernetes version starting with \"${var.kubernetes_version_prefix}\" (it offers: ${join(", ", data.digitalocean_kubernetes_versions.this.valid_versions)}). Set kubernetes_version_prefix to one of them, e.g. \"1.34.\"; `doctl kubernetes options versions` lists them."
    }
    precondition {
      condition     = !var.auto_scale || (var.min_nodes <= var.node_count && var.node_count <= var.max_nodes)
      error_message = "With auto_scale on, the node counts must satisfy min_nodes <= node_count <= max_nodes (now ${var.min_nodes} <= ${var.node_count} <= ${var.max_nodes})."
    }
  }
}
