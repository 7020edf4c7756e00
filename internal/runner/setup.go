package runner

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/webhookd/webhookd/workflows"
)

// EnsureSearchAttributes registers every name in workflows.SearchAttributeNames as
// Keyword attributes of the namespace if they are missing.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = enums.INDEXED_VALUE_TYPE_KEYWORD
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// SearchAttributeTypes is the set EnsureSearchAttributes registers, for
// servers that take them at namespace creation (the dev server).
func SearchAttributeTypes() map[string]enums.IndexedValueType {
	out := map[string]enums.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames {
		out[name] = enums.INDEXED_VALUE_TYPE_KEYWORD
	}
	return out
}

// CheckSearchAttributes reports, as an error naming them and the command
// that registers them, the search attributes of workflows.SearchAttributeNames
// the namespace lacks: a delivery workflow that writes one (WaitingFor at its
// first wait for a limit, say) would otherwise fail its workflow task, again
// and again, long after the worker started. A worker refuses to start
// without them.
func CheckSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list the search attributes of namespace %q: %w", namespace, err)
	}
	var missing []string
	for _, name := range workflows.SearchAttributeNames {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("namespace %q lacks the search attributes %s: run `webhookd migrate` (it registers them), "+
		"or on Temporal Cloud add each as a Keyword (`tcld namespace search-attributes add --namespace %s --search-attribute %s=Keyword`), then start the worker again",
		namespace, strings.Join(missing, ", "), namespace, missing[0])
}
