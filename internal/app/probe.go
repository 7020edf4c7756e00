package app

import (
	"context"
	"fmt"
	"net/http"
	neturl "net/url"
	"time"
)

// probe is a health check for images without curl: GET url, succeed on 200.
func probe(ctx context.Context, url string) error {
	if u, err := neturl.Parse(url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("probe: want an http:// or https:// URL such as http://127.0.0.1:8080/readyz, got %q", url)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return nil
}
