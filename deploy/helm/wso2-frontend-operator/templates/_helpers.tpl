{{- define "wso2-frontend-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
An image reference from {repository, tag, digest}: repository[:tag][@digest], the tag being the
chart's appVersion when neither tag nor digest is set. Call with (list .Values.image .Chart.AppVersion).
*/}}
{{- define "wso2-frontend-operator.image" -}}
{{- $image := index . 0 -}}
{{- $tag := $image.tag | default (ternary (index . 1) "" (empty $image.digest)) -}}
{{- $image.repository -}}{{- if $tag }}:{{ $tag }}{{ end -}}{{- if $image.digest }}@{{ $image.digest }}{{ end -}}
{{- end -}}

{{- define "wso2-frontend-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "wso2-frontend-operator.labels" -}}
{{ include "wso2-frontend-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
The operator's rules, the same as deploy/base/rbac.yaml (see the comments there for why each
verb is needed): a ClusterRole with every namespace watched, a Role per watched namespace otherwise.
*/}}
{{- define "wso2-frontend-operator.rules" -}}
- apiGroups: [wso2-frontend.dev]
  resources: [wso2frontends]
  verbs: [get, list, watch]
- apiGroups: [wso2-frontend.dev]
  resources: [wso2frontends/status]
  verbs: [patch]
- apiGroups: [wso2-frontend.dev]
  resources: [wso2frontends/finalizers]
  verbs: [update]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [services, serviceaccounts]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [endpoints]
  verbs: [get, list]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [pods/status]
  verbs: [patch]
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
- apiGroups: [cert-manager.io]
  resources: [certificates]
  verbs: [get, list, create, patch, delete]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}
