terraform {
  # 1.9 or newer: variable validation may refer to other variables.
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    digitalocean = {
      source  = "digitalocean/digitalocean"
      version = "2.99.1"
    }
  }
}

# No arguments on purpose: the provider reads the API token from the DIGITALOCEAN_TOKEN
# environment variable. Never put a token in a file in this repository.
provider "digitalocean" {}
