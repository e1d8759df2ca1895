output "cluster_id" {
  description = "ID of the Kubernetes cluster."
  value       = digitalocean_kubernetes_cluster.this.id
}

output "cluster_name" {
  description = "Name of the Kubernetes cluster."
  value       = digitalocean_kubernetes_cluster.this.name
}

output "cluster_endpoint" {
  description = "URL of the cluster's Kubernetes API server."
  value       = digitalocean_kubernetes_cluster.this.endpoint
}

output "kubernetes_version" {
  description = "Kubernetes version the cluster was created with (auto-upgrade moves it to newer patch releases)."
  value       = digitalocean_kubernetes_cluster.this.version
}

output "vpc_id" {
  description = "ID of the VPC the cluster runs in."
  value       = digitalocean_vpc.this.id
}

output "kubeconfig_save_command" {
  description = "Command that merges the cluster's credentials into ~/.kube/config and selects its context (needs doctl, authenticated with `doctl auth init`); the credentials it saves are renewed by doctl."
  value       = "doctl kubernetes cluster kubeconfig save ${digitalocean_kubernetes_cluster.this.name}"
}

output "kubeconfig" {
  description = "Raw kubeconfig of the cluster (an admin credential that expires after 7 days). Sensitive: printed only by `terraform output -raw kubeconfig`; prefer kubeconfig_save_command."
  value       = try(digitalocean_kubernetes_cluster.this.kube_config[0].raw_config, null)
  sensitive   = true
}

output "registry_endpoint" {
  description = "Endpoint of the container registry (e.g. registry.digitalocean.com/NAME) when create_registry is true, otherwise null."
  value       = try(digitalocean_container_registry.this[0].endpoint, null)
}

output "registry_name" {
  description = "Name of the container registry when create_registry is true, otherwise null."
  value       = try(digitalocean_container_registry.this[0].name, null)
}

output "image_repository" {
  description = "Value for the chart's image.repository when create_registry is true (the registry endpoint followed by /icecream-queue), otherwise null."
  value       = try("${digitalocean_container_registry.this[0].endpoint}/icecream-queue", null)
}
