package main

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

type provider struct {
	schemas *schemas
}

var _ tfprotov5.ProviderServer = (*provider)(nil)

func (p *provider) capabilities() *tfprotov5.ServerCapabilities {
	return &tfprotov5.ServerCapabilities{PlanDestroy: true}
}

func (p *provider) GetMetadata(context.Context, *tfprotov5.GetMetadataRequest) (*tfprotov5.GetMetadataResponse, error) {
	resp := &tfprotov5.GetMetadataResponse{ServerCapabilities: p.capabilities()}
	for _, name := range sortedKeys(p.schemas.resources) {
		resp.Resources = append(resp.Resources, tfprotov5.ResourceMetadata{TypeName: name})
	}
	for _, name := range sortedKeys(p.schemas.dataSources) {
		resp.DataSources = append(resp.DataSources, tfprotov5.DataSourceMetadata{TypeName: name})
	}
	return resp, nil
}

func (p *provider) GetProviderSchema(context.Context, *tfprotov5.GetProviderSchemaRequest) (*tfprotov5.GetProviderSchemaResponse, error) {
	return &tfprotov5.GetProviderSchemaResponse{
		ServerCapabilities: p.capabilities(),
		Provider:           p.schemas.provider,
		ResourceSchemas:    p.schemas.resources,
		DataSourceSchemas:  p.schemas.dataSources,
	}, nil
}

func (p *provider) GetResourceIdentitySchemas(context.Context, *tfprotov5.GetResourceIdentitySchemasRequest) (*tfprotov5.GetResourceIdentitySchemasResponse, error) {
	return &tfprotov5.GetResourceIdentitySchemasResponse{}, nil
}

func (p *provider) PrepareProviderConfig(_ context.Context, req *tfprotov5.PrepareProviderConfigRequest) (*tfprotov5.PrepareProviderConfigResponse, error) {
	return &tfprotov5.PrepareProviderConfigResponse{PreparedConfig: req.Config}, nil
}

func (p *provider) ConfigureProvider(context.Context, *tfprotov5.ConfigureProviderRequest) (*tfprotov5.ConfigureProviderResponse, error) {
	return &tfprotov5.ConfigureProviderResponse{}, nil
}

func (p *provider) StopProvider(context.Context, *tfprotov5.StopProviderRequest) (*tfprotov5.StopProviderResponse, error) {
	return &tfprotov5.StopProviderResponse{}, nil
}

// Resources

func (p *provider) ValidateResourceTypeConfig(context.Context, *tfprotov5.ValidateResourceTypeConfigRequest) (*tfprotov5.ValidateResourceTypeConfigResponse, error) {
	// Terraform itself checks the configuration against the schema; the real provider's own
	// validators (enums, ranges, conflicts) are not in the schema file and are not imitated.
	return &tfprotov5.ValidateResourceTypeConfigResponse{}, nil
}

func (p *provider) UpgradeResourceState(_ context.Context, req *tfprotov5.UpgradeResourceStateRequest) (*tfprotov5.UpgradeResourceStateResponse, error) {
	s, ok := p.schemas.resources[req.TypeName]
	if !ok {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: errorDiag("Unknown resource type", req.TypeName)}, nil
	}
	typ := s.ValueType()
	v, err := req.RawState.Unmarshal(typ)
	if err != nil {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: errorDiag("Cannot read the prior state", err.Error())}, nil
	}
	dv, err := tfprotov5.NewDynamicValue(typ, v)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.UpgradeResourceStateResponse{UpgradedState: &dv}, nil
}

func (p *provider) ReadResource(context.Context, *tfprotov5.ReadResourceRequest) (*tfprotov5.ReadResourceResponse, error) {
	return &tfprotov5.ReadResourceResponse{Diagnostics: errorDiag("Refresh is not available offline (use -refresh=false)", noAPI)}, nil
}

func (p *provider) PlanResourceChange(_ context.Context, req *tfprotov5.PlanResourceChangeRequest) (*tfprotov5.PlanResourceChangeResponse, error) {
	s, ok := p.schemas.resources[req.TypeName]
	if !ok {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: errorDiag("Unknown resource type", req.TypeName)}, nil
	}
	typ := s.ValueType()
	proposed, err := req.ProposedNewState.Unmarshal(typ)
	if err != nil {
		return nil, err
	}
	prior := tftypes.NewValue(typ, nil)
	if req.PriorState != nil {
		if prior, err = req.PriorState.Unmarshal(typ); err != nil {
			return nil, err
		}
	}
	planned := proposed
	if prior.IsNull() && !proposed.IsNull() {
		// A create: whatever the API would compute is unknown until apply.
		if planned, err = unknownComputed(s.Block, proposed); err != nil {
			return &tfprotov5.PlanResourceChangeResponse{Diagnostics: errorDiag("Cannot plan "+req.TypeName, err.Error())}, nil
		}
	}
	dv, err := tfprotov5.NewDynamicValue(typ, planned)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.PlanResourceChangeResponse{PlannedState: &dv}, nil
}

// unknownComputed marks every computed attribute the configuration leaves null as unknown,
// in the block and in all its nested blocks.
func unknownComputed(b *tfprotov5.SchemaBlock, v tftypes.Value) (tftypes.Value, error) {
	if v.IsNull() || !v.IsKnown() {
		return v, nil
	}
	var m map[string]tftypes.Value
	if err := v.As(&m); err != nil {
		return v, err
	}
	for _, a := range b.Attributes {
		if cur, ok := m[a.Name]; a.Computed && (!ok || cur.IsNull()) {
			m[a.Name] = tftypes.NewValue(a.Type, tftypes.UnknownValue)
		}
	}
	for _, nb := range b.BlockTypes {
		cur, ok := m[nb.TypeName]
		if !ok || cur.IsNull() || !cur.IsKnown() {
			continue
		}
		switch nb.Nesting {
		case tfprotov5.SchemaNestedBlockNestingModeSingle, tfprotov5.SchemaNestedBlockNestingModeGroup:
			nv, err := unknownComputed(nb.Block, cur)
			if err != nil {
				return v, err
			}
			m[nb.TypeName] = nv
		case tfprotov5.SchemaNestedBlockNestingModeList, tfprotov5.SchemaNestedBlockNestingModeSet:
			var elems []tftypes.Value
			if err := cur.As(&elems); err != nil {
				return v, err
			}
			for i, e := range elems {
				nv, err := unknownComputed(nb.Block, e)
				if err != nil {
					return v, err
				}
				elems[i] = nv
			}
			m[nb.TypeName] = tftypes.NewValue(cur.Type(), elems)
		case tfprotov5.SchemaNestedBlockNestingModeMap:
			var elems map[string]tftypes.Value
			if err := cur.As(&elems); err != nil {
				return v, err
			}
			for k, e := range elems {
				nv, err := unknownComputed(nb.Block, e)
				if err != nil {
					return v, err
				}
				elems[k] = nv
			}
			m[nb.TypeName] = tftypes.NewValue(cur.Type(), elems)
		}
	}
	return tftypes.NewValue(v.Type(), m), nil
}

func (p *provider) ApplyResourceChange(context.Context, *tfprotov5.ApplyResourceChangeRequest) (*tfprotov5.ApplyResourceChangeResponse, error) {
	return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: errorDiag("Apply is not available offline", noAPI)}, nil
}

func (p *provider) ImportResourceState(context.Context, *tfprotov5.ImportResourceStateRequest) (*tfprotov5.ImportResourceStateResponse, error) {
	return &tfprotov5.ImportResourceStateResponse{Diagnostics: errorDiag("Import is not available offline", noAPI)}, nil
}

func (p *provider) MoveResourceState(context.Context, *tfprotov5.MoveResourceStateRequest) (*tfprotov5.MoveResourceStateResponse, error) {
	return &tfprotov5.MoveResourceStateResponse{Diagnostics: errorDiag("Moving state between resource types is not supported", noAPI)}, nil
}

func (p *provider) UpgradeResourceIdentity(context.Context, *tfprotov5.UpgradeResourceIdentityRequest) (*tfprotov5.UpgradeResourceIdentityResponse, error) {
	return &tfprotov5.UpgradeResourceIdentityResponse{Diagnostics: errorDiag("Resource identities are not supported", noAPI)}, nil
}

func (p *provider) GenerateResourceConfig(context.Context, *tfprotov5.GenerateResourceConfigRequest) (*tfprotov5.GenerateResourceConfigResponse, error) {
	return &tfprotov5.GenerateResourceConfigResponse{Diagnostics: errorDiag("Generating configuration is not supported", noAPI)}, nil
}

// Data sources

func (p *provider) ValidateDataSourceConfig(context.Context, *tfprotov5.ValidateDataSourceConfigRequest) (*tfprotov5.ValidateDataSourceConfigResponse, error) {
	return &tfprotov5.ValidateDataSourceConfigResponse{}, nil
}

// offeredKubernetesVersions stands in for the versions the API offers (newest first): data
// sources must return known values, so digitalocean_kubernetes_versions answers from this list,
// honouring version_prefix like the real one (no match: an empty latest_version and list).
var offeredKubernetesVersions = []string{"1.35.1-do.0", "1.34.3-do.1", "1.33.7-do.2"}

func (p *provider) ReadDataSource(_ context.Context, req *tfprotov5.ReadDataSourceRequest) (*tfprotov5.ReadDataSourceResponse, error) {
	s, ok := p.schemas.dataSources[req.TypeName]
	if !ok {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: errorDiag("Unknown data source", req.TypeName)}, nil
	}
	typ := s.ValueType()
	cfg, err := req.Config.Unmarshal(typ)
	if err != nil {
		return nil, err
	}
	var m map[string]tftypes.Value
	if err := cfg.As(&m); err != nil {
		return nil, err
	}
	if id, ok := m["id"]; ok && id.IsNull() {
		m["id"] = tftypes.NewValue(tftypes.String, "offline-"+req.TypeName)
	}
	switch req.TypeName {
	case "digitalocean_kubernetes_versions":
		prefix := ""
		if pv := m["version_prefix"]; !pv.IsNull() {
			_ = pv.As(&prefix)
		}
		var valid []tftypes.Value
		latest := ""
		for _, v := range offeredKubernetesVersions {
			if strings.HasPrefix(v, prefix) {
				if latest == "" {
					latest = v
				}
				valid = append(valid, tftypes.NewValue(tftypes.String, v))
			}
		}
		m["latest_version"] = tftypes.NewValue(tftypes.String, latest)
		m["valid_versions"] = tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, valid)
	default:
		// Other computed attributes stay null: known, so Terraform accepts them, and never
		// mistaken for data from an account.
	}
	dv, err := tfprotov5.NewDynamicValue(typ, tftypes.NewValue(typ, m))
	if err != nil {
		return nil, err
	}
	return &tfprotov5.ReadDataSourceResponse{State: &dv}, nil
}

// Functions and ephemeral resources: the real provider has none.

func (p *provider) GetFunctions(context.Context, *tfprotov5.GetFunctionsRequest) (*tfprotov5.GetFunctionsResponse, error) {
	return &tfprotov5.GetFunctionsResponse{Functions: map[string]*tfprotov5.Function{}}, nil
}

func (p *provider) CallFunction(context.Context, *tfprotov5.CallFunctionRequest) (*tfprotov5.CallFunctionResponse, error) {
	return &tfprotov5.CallFunctionResponse{Error: &tfprotov5.FunctionError{Text: "the provider has no functions"}}, nil
}

func (p *provider) ValidateEphemeralResourceConfig(context.Context, *tfprotov5.ValidateEphemeralResourceConfigRequest) (*tfprotov5.ValidateEphemeralResourceConfigResponse, error) {
	return &tfprotov5.ValidateEphemeralResourceConfigResponse{Diagnostics: errorDiag("The provider has no ephemeral resources", "")}, nil
}

func (p *provider) OpenEphemeralResource(context.Context, *tfprotov5.OpenEphemeralResourceRequest) (*tfprotov5.OpenEphemeralResourceResponse, error) {
	return &tfprotov5.OpenEphemeralResourceResponse{Diagnostics: errorDiag("The provider has no ephemeral resources", "")}, nil
}

func (p *provider) RenewEphemeralResource(context.Context, *tfprotov5.RenewEphemeralResourceRequest) (*tfprotov5.RenewEphemeralResourceResponse, error) {
	return &tfprotov5.RenewEphemeralResourceResponse{Diagnostics: errorDiag("The provider has no ephemeral resources", "")}, nil
}

func (p *provider) CloseEphemeralResource(context.Context, *tfprotov5.CloseEphemeralResourceRequest) (*tfprotov5.CloseEphemeralResourceResponse, error) {
	return &tfprotov5.CloseEphemeralResourceResponse{}, nil
}
