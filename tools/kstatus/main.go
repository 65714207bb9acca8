// kstatus computes the kstatus verdict (sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute) of
// resources, as Flux, kpt and cli-utils compute it when they wait for a rollout.
//
// Usage: kstatus < objects.json
// Input: a JSON array of resources. Output: a JSON array of {"status", "message"}, one per
// resource, or {"error"} when Compute fails for that resource.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

func main() {
	// Decoded as the API machinery decodes them (integers as int64), which Compute expects.
	var objects []json.RawMessage
	if err := json.NewDecoder(os.Stdin).Decode(&objects); err != nil {
		fmt.Fprintln(os.Stderr, "stdin must be a JSON array of resources:", err)
		os.Exit(1)
	}
	results := make([]result, 0, len(objects))
	for _, object := range objects {
		resource := &unstructured.Unstructured{}
		err := resource.UnmarshalJSON(object)
		var computed *status.Result
		if err == nil {
			computed, err = status.Compute(resource)
		}
		if err != nil {
			results = append(results, result{Error: err.Error()})
			continue
		}
		results = append(results, result{Status: computed.Status.String(), Message: computed.Message})
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
