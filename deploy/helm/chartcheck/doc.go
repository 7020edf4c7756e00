// Package chartcheck checks the Helm chart in ../webhookd without a cluster
// or a network: `helm lint` (strict) and `helm template` through Helm's Go
// SDK, then every rendered object decoded strictly into the Kubernetes API
// types (an unknown or misspelt field fails), and the wiring between the
// objects. It is its own Go module so that Helm and the Kubernetes libraries
// stay out of webhookd's go.mod; CI runs `go test ./...` here.
package chartcheck
