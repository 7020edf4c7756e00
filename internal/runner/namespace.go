package runner

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// CheckNamespace fails, naming TEMPORAL_NAMESPACE, when namespace does not
// exist on the server c is connected to. Dialing does not check it, and a
// worker's polls give up on a missing namespace only after minutes: without
// this, `api` would start and say it is ready while nothing is delivered.
func CheckNamespace(ctx context.Context, c client.Client, namespace string) error {
	_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	var nsNotFound *serviceerror.NamespaceNotFound
	if errors.As(err, &nsNotFound) || isNotFound(err) {
		return fmt.Errorf("TEMPORAL_NAMESPACE: namespace %q does not exist on this Temporal server"+
			" (create it, e.g. `temporal operator namespace create --namespace %s`, or set TEMPORAL_NAMESPACE to an existing one)", namespace, namespace)
	}
	if err != nil {
		return fmt.Errorf("describe namespace %q (TEMPORAL_NAMESPACE): %w", namespace, err)
	}
	return nil
}

// WithNamespaceHealth returns c whose CheckHealth also fails when the
// namespace is gone, so that readiness says why nothing is delivered.
// Use it for health checks and calls only: the SDK's worker needs the
// client Dial returned.
func WithNamespaceHealth(c client.Client, namespace string) client.Client {
	return namespaceHealth{Client: c, namespace: namespace}
}

type namespaceHealth struct {
	client.Client
	namespace string
}

func (c namespaceHealth) CheckHealth(ctx context.Context, req *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	resp, err := c.Client.CheckHealth(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := CheckNamespace(ctx, c.Client, c.namespace); err != nil {
		return nil, err
	}
	return resp, nil
}
