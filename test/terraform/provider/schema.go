package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The shape of `terraform providers schema -json` (format 1.0). Unknown keys are rejected when
// decoding, so a schema using a feature this stand-in does not convert (e.g. nested attribute
// types) fails loudly instead of being served incompletely.
type jsonSchemaFile struct {
	FormatVersion   string                         `json:"format_version"`
	ProviderSchemas map[string]*jsonProviderSchema `json:"provider_schemas"`
}

type jsonProviderSchema struct {
	Provider          *jsonSchema            `json:"provider"`
	ResourceSchemas   map[string]*jsonSchema `json:"resource_schemas"`
	DataSourceSchemas map[string]*jsonSchema `json:"data_source_schemas"`
}

type jsonSchema struct {
	Version int64      `json:"version"`
	Block   *jsonBlock `json:"block"`
}

type jsonBlock struct {
	Attributes      map[string]*jsonAttribute `json:"attributes"`
	BlockTypes      map[string]*jsonBlockType `json:"block_types"`
	Description     string                    `json:"description"`
	DescriptionKind string                    `json:"description_kind"`
	Deprecated      bool                      `json:"deprecated"`
}

type jsonAttribute struct {
	Type            json.RawMessage `json:"type"`
	Description     string          `json:"description"`
	DescriptionKind string          `json:"description_kind"`
	Required        bool            `json:"required"`
	Optional        bool            `json:"optional"`
	Computed        bool            `json:"computed"`
	Sensitive       bool            `json:"sensitive"`
	Deprecated      bool            `json:"deprecated"`
	WriteOnly       bool            `json:"write_only"`
}

type jsonBlockType struct {
	NestingMode string     `json:"nesting_mode"`
	Block       *jsonBlock `json:"block"`
	MinItems    int64      `json:"min_items"`
	MaxItems    int64      `json:"max_items"`
}

// schemas is everything the provider serves.
type schemas struct {
	provider    *tfprotov5.Schema
	resources   map[string]*tfprotov5.Schema
	dataSources map[string]*tfprotov5.Schema
}

func loadSchemas(raw []byte, address string) (*schemas, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var file jsonSchemaFile
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("reading the embedded schema: %w", err)
	}
	ps, ok := file.ProviderSchemas[address]
	if !ok || ps.Provider == nil {
		return nil, fmt.Errorf("the embedded schema has no provider %q", address)
	}
	out := &schemas{resources: map[string]*tfprotov5.Schema{}, dataSources: map[string]*tfprotov5.Schema{}}
	var err error
	if out.provider, err = convertSchema(ps.Provider); err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	for name, s := range ps.ResourceSchemas {
		if out.resources[name], err = convertSchema(s); err != nil {
			return nil, fmt.Errorf("resource %s: %w", name, err)
		}
	}
	for name, s := range ps.DataSourceSchemas {
		if out.dataSources[name], err = convertSchema(s); err != nil {
			return nil, fmt.Errorf("data source %s: %w", name, err)
		}
	}
	return out, nil
}

func convertSchema(s *jsonSchema) (*tfprotov5.Schema, error) {
	if s.Block == nil {
		return nil, fmt.Errorf("no block")
	}
	b, err := convertBlock(s.Block, s.Version)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.Schema{Version: s.Version, Block: b}, nil
}

func stringKind(kind string) tfprotov5.StringKind {
	if kind == "markdown" {
		return tfprotov5.StringKindMarkdown
	}
	return tfprotov5.StringKindPlain
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func convertBlock(b *jsonBlock, version int64) (*tfprotov5.SchemaBlock, error) {
	out := &tfprotov5.SchemaBlock{
		Version:         version,
		Description:     b.Description,
		DescriptionKind: stringKind(b.DescriptionKind),
		Deprecated:      b.Deprecated,
	}
	for _, name := range sortedKeys(b.Attributes) {
		a := b.Attributes[name]
		if len(a.Type) == 0 {
			return nil, fmt.Errorf("attribute %s has no type (nested attribute types are not supported)", name)
		}
		typ, err := tftypes.ParseJSONType(a.Type) //nolint:staticcheck // the schema file's own type syntax
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out.Attributes = append(out.Attributes, &tfprotov5.SchemaAttribute{
			Name:            name,
			Type:            typ,
			Description:     a.Description,
			DescriptionKind: stringKind(a.DescriptionKind),
			Required:        a.Required,
			Optional:        a.Optional,
			Computed:        a.Computed,
			Sensitive:       a.Sensitive,
			Deprecated:      a.Deprecated,
			WriteOnly:       a.WriteOnly,
		})
	}
	for _, name := range sortedKeys(b.BlockTypes) {
		bt := b.BlockTypes[name]
		if bt.Block == nil {
			return nil, fmt.Errorf("block type %s has no block", name)
		}
		nested, err := convertBlock(bt.Block, 0)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", name, err)
		}
		var mode tfprotov5.SchemaNestedBlockNestingMode
		switch bt.NestingMode {
		case "single":
			mode = tfprotov5.SchemaNestedBlockNestingModeSingle
		case "group":
			mode = tfprotov5.SchemaNestedBlockNestingModeGroup
		case "list":
			mode = tfprotov5.SchemaNestedBlockNestingModeList
		case "set":
			mode = tfprotov5.SchemaNestedBlockNestingModeSet
		case "map":
			mode = tfprotov5.SchemaNestedBlockNestingModeMap
		default:
			return nil, fmt.Errorf("block %s: unknown nesting mode %q", name, bt.NestingMode)
		}
		out.BlockTypes = append(out.BlockTypes, &tfprotov5.SchemaNestedBlock{
			TypeName: name,
			Block:    nested,
			Nesting:  mode,
			MinItems: bt.MinItems,
			MaxItems: bt.MaxItems,
		})
	}
	return out, nil
}
