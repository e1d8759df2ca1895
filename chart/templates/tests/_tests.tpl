{{/*
icecream.testPod: a `helm test` Pod named "<full name>-test-<name>" that runs the app image's
entry points, one container per check; the pod passes when every container exits 0.
Input: dict "root" (root context), "name", "containers": a list of dict "name", "command" (list),
"env" (list of EnvVar, optional), "role" (optional, api|consumer: the app's configuration with
that role's credentials and CAs).
*/}}
{{- define "icecream.testPod" -}}
{{- $root := .root }}
{{- $withRole := false }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "icecream.fullname" $root }}-test-{{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "icecream.componentLabels" (dict "root" $root "component" (printf "test-%s" .name)) | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  {{- include "icecream.imagePullSecrets" $root | nindent 2 }}
  securityContext:
    {{- include "icecream.podSecurityContext" $root | nindent 4 }}
  containers:
    {{- range .containers }}
    - name: {{ .name }}
      image: {{ include "icecream.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command: {{ toJson .command }}
      workingDir: /app
      {{- if .role }}
      {{- $withRole = true }}
      envFrom:
        - configMapRef:
            name: {{ include "icecream.configMapName" $root }}
      {{- end }}
      env:
        {{- with .role }}
        {{- include "icecream.credentialsEnv" (dict "root" $root "role" .) | nindent 8 }}
        {{- end }}
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      resources:
        requests: { cpu: 50m, memory: 64Mi }
        limits: { memory: 128Mi }
      securityContext:
        {{- include "icecream.containerSecurityContext" $root | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if .role }}
        {{- include "icecream.caVolumeMounts" $root | nindent 8 }}
        {{- end }}
    {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 16Mi
    {{- if $withRole }}
    {{- include "icecream.caVolumes" $root | nindent 4 }}
    {{- end }}
{{- end }}
