// Command terraform-provider-digitalocean is an offline stand-in for the DigitalOcean Terraform
// provider, used only by this project's tests. It serves the real provider's schema (read from
// `terraform providers schema -json` output embedded at build time), so `terraform validate`
// checks every attribute name, type, required argument and block count against the real
// provider, and `terraform plan -refresh=false` evaluates variables, validations, preconditions,
// counts and outputs. It never calls an API: computed attributes are unknown in create plans,
// data sources return fixed placeholders, and read, apply and import are refused.
package main

import (
	_ "embed"
	"fmt"
	"os"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server"
)

// providerAddress is the source address the schema file describes.
const providerAddress = "registry.terraform.io/digitalocean/digitalocean"

//go:embed schema.json
var schemaJSON []byte

func main() {
	schemas, err := loadSchemas(schemaJSON, providerAddress)
	if err != nil {
		fmt.Fprintln(os.Stderr, "terraform-provider-digitalocean (offline stand-in):", err)
		os.Exit(1)
	}
	p := &provider{schemas: schemas}
	if err := tf5server.Serve(providerAddress, func() tfprotov5.ProviderServer { return p }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// noAPI is the message of every refused operation.
const noAPI = "This is an offline test stand-in for the DigitalOcean provider: it serves the real " +
	"provider's schema and never calls the DigitalOcean API. Use it only for validate and " +
	"plan -refresh=false; run apply with the real provider (terraform init without -plugin-dir)."

func errorDiag(summary, detail string) []*tfprotov5.Diagnostic {
	return []*tfprotov5.Diagnostic{{Severity: tfprotov5.DiagnosticSeverityError, Summary: summary, Detail: detail}}
}


