{{- /*
The app's identities: their privileges, the secrets the chart generates, and the env entries
that give a pod an identity.
*/}}

{{/*
icecream.privileges: chart/files/privileges.yaml, the one definition of what each identity may do
(the local stack reads the same file). Input: the root context. Use with fromYaml.
*/}}
{{- define "icecream.privileges" -}}
{{- .Files.Get "files/privileges.yaml" }}
{{- end }}

{{/*
icecream.keptRandom: a generated secret value that survives upgrades: the live Secret's (read with
`lookup`), else a new random one of `length` characters. `helm template` has no cluster to look
into and renders a new one each time. Generated once per render and remembered in the render's
root context, so that the Secret and the pods' checksum annotation see the same value.
Input: dict "root" (the root context) "secret" (the Secret's name) "key" (its data key) "length".
*/}}
{{- define "icecream.keptRandom" -}}
{{- $memo := printf "icecreamKept-%s-%s" .secret .key }}
{{- if not (hasKey .root $memo) }}
{{- $live := lookup "v1" "Secret" .root.Release.Namespace .secret }}
{{- $_ := set .root $memo (dig "data" .key "" $live | b64dec | default (randAlphaNum .length)) }}
{{- end }}
{{- get .root $memo }}
{{- end }}

{{/*
icecream.esPassword: an identity's Elasticsearch password, generated once (icecream.keptRandom).
Input: dict "root" (the root context) "identity" (api, consumer, setup).
*/}}
{{- define "icecream.esPassword" -}}
{{- include "icecream.keptRandom" (dict "root" .root "secret" (include "icecream.esUserSecret" .) "key" "password" "length" 32) }}
{{- end }}

{{/*
icecream.demoControlToken: the token as the cluster has it (an existing Secret's is read with
`lookup`; "" where there is none yet), else a new one of 48 characters kept across upgrades. Only
its hash leaves the Secret: the pods' checksum annotation. Input: the root context.
*/}}
{{- define "icecream.demoControlToken" -}}
{{- $secret := include "icecream.demoControlSecret" . }}
{{- if .Values.demoControls.existingSecret }}
{{- dig "data" "token" "" (lookup "v1" "Secret" .Release.Namespace $secret) | b64dec }}
{{- else }}
{{- include "icecream.keptRandom" (dict "root" . "secret" $secret "key" "token" "length" 48) }}
{{- end }}
{{- end }}

{{/*
icecream.demoControlsEnv: the demo controls' switch and token, for the API and the consumers (both
obey the controls) and no other pod: the helm test pods also read the ConfigMap, and a switch
there without its token could stop them. The page's other variables are in the ConfigMap.
Input: the root context.
*/}}
{{- define "icecream.demoControlsEnv" -}}
- name: DEMO_CONTROLS
  value: {{ .Values.demoControls.enabled | toString | quote }}
{{- if .Values.demoControls.enabled }}
- name: DEMO_CONTROL_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "icecream.demoControlSecret" . }}
      key: token
{{- end }}
{{- end }}

{{/*
icecream.credentialsEnv: the env entries that give a pod one of the app's identities (api or
consumer): its Kafka user and the password Strimzi's User Operator wrote into the user's Secret,
and its Elasticsearch user and password. Input: dict "root" (root context) "role" (api|consumer).
*/}}
{{- define "icecream.credentialsEnv" -}}
{{- $user := ternary (include "icecream.apiUser" .root) (include "icecream.consumerUser" .root) (eq .role "api") }}
- name: KAFKA_USERNAME
  value: {{ $user }}
- name: KAFKA_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $user }}
      key: password
- name: ELASTICSEARCH_USERNAME
  value: {{ include "icecream.esUsername" (dict "root" .root "identity" .role) }}
- name: ELASTICSEARCH_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "icecream.esUserSecret" (dict "root" .root "identity" .role) }}
      key: password
{{- end }}
