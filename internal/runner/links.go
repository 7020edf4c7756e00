package runner

import (
	"net/url"
	"strings"

	"github.com/webhookd/webhookd/workflows"
)

// DeliveryLinks returns the address of a delivery's workflow in the Temporal
// Web UI at uiURL (as a browser reaches it), for the console; nil when there
// is no UI to link to.
func DeliveryLinks(uiURL, namespace string) func(deliveryID string) string {
	if uiURL == "" {
		return nil
	}
	if namespace == "" {
		namespace = "default"
	}
	base := strings.TrimRight(uiURL, "/") + "/namespaces/" + url.PathEscape(namespace) + "/workflows/"
	return func(deliveryID string) string {
		return base + url.PathEscape(workflows.DeliveryWorkflowID(deliveryID))
	}
}
