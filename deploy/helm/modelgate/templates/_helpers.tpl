{{/* The objects' base name: the release name when it contains the chart's. */}}
{{- define "modelgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "modelgate.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "modelgate.labels" -}}
{{ include "modelgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "modelgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "modelgate.fullname" .) -}}
{{- else -}}
{{- required "serviceAccount.name: name the service account modelgate runs as (serviceAccount.create is false)" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding tokens.yaml, or "" when there is none. */}}
{{- define "modelgate.tokensSecret" -}}
{{- if .Values.tokens.existingSecret -}}
{{- .Values.tokens.existingSecret -}}
{{- else if .Values.tokens.tokens -}}
{{- printf "%s-tokens" (include "modelgate.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding admin-token, or "" when there is none. */}}
{{- define "modelgate.adminTokenSecret" -}}
{{- if .Values.adminToken.existingSecret -}}
{{- .Values.adminToken.existingSecret -}}
{{- else if .Values.adminToken.value -}}
{{- printf "%s-admin-token" (include "modelgate.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* modelgate.yaml: .Values.config with what the chart's wiring needs. */}}
{{- define "modelgate.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $server := dict "listen" "0.0.0.0:8095" "admin_token_env" "MODELGATE_SERVER_ADMIN_TOKEN" -}}
{{- if include "modelgate.tokensSecret" . -}}
{{- $_ := set $server "tokens_file" "/etc/modelgate/tokens/tokens.yaml" -}}
{{- end -}}
{{- if .Values.highAvailability.enabled -}}
{{- $_ := set $server "leader_election" (dict "namespace" .Release.Namespace "name" (include "modelgate.fullname" .)) -}}
{{- $state := get $cfg "state" | default dict -}}
{{- $_ := set $state "type" "postgres" -}}
{{- $_ := set $state "dsn_env" "MODELGATE_POSTGRES_DSN" -}}
{{- $_ := set $cfg "state" $state -}}
{{- end -}}
{{- $_ := set $cfg "server" $server -}}
{{- $platform := get $cfg "platform" | default dict -}}
{{- $_ := set $platform "staging_namespace" .Values.namespaces.staging -}}
{{- $_ := set $platform "production_namespace" .Values.namespaces.production -}}
{{- $_ := set $cfg "platform" $platform -}}
{{- toYaml $cfg -}}
{{- end -}}
