{{/*
icecream.teardown*: the pre-delete hook (see uninstallHook in values.yaml). It exists only when
this release installs an operator: otherwise the operators outlive the release. Its steps: first
the resources the entity operator finalizes, then those the cluster operators manage. Input: the
root context; icecream.teardownHook takes the hook weight (its RBAC objects come first).
*/}}
{{- define "icecream.teardownEnabled" -}}
{{- if and .Values.uninstallHook.enabled (or (index .Values "strimzi-kafka-operator").enabled (index .Values "eck-operator").enabled) }}true{{ end }}
{{- end }}
{{- define "icecream.teardownName" -}}
{{- printf "%s-teardown" (include "icecream.fullname" .) }}
{{- end }}
{{- define "icecream.teardownSteps" -}}
{{- toJson (list
  (list "kafka.strimzi.io/v1/kafkatopics" "kafka.strimzi.io/v1/kafkausers")
  (list "elasticsearch.k8s.elastic.co/v1/elasticsearches" "kafka.strimzi.io/v1/kafkanodepools" "kafka.strimzi.io/v1/kafkas")) }}
{{- end }}
{{- define "icecream.teardownHook" -}}
helm.sh/hook: pre-delete
helm.sh/hook-weight: {{ . | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}
