package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TemporalConnection is how to reach a Temporal cluster beyond its address:
// TLS for a self-hosted cluster with certificates, an API key for Temporal
// Cloud.
type TemporalConnection struct {
	// TLS is nil for a plain connection.
	TLS *tls.Config
	// APIKey authenticates to Temporal Cloud (sent over TLS).
	APIKey string
}

// temporalConnection reads TEMPORAL_TLS, TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT,
// TEMPORAL_TLS_KEY, TEMPORAL_TLS_SERVER_NAME and TEMPORAL_API_KEY. Any of them
// turns TLS on; files are read now, so that a wrong path stops start-up
// naming its variable rather than failing at the first call.
func (r *reader) temporalConnection() TemporalConnection {
	var c TemporalConnection
	ca, cert, key := r.str("TEMPORAL_TLS_CA", ""), r.str("TEMPORAL_TLS_CERT", ""), r.str("TEMPORAL_TLS_KEY", "")
	serverName := r.str("TEMPORAL_TLS_SERVER_NAME", "")
	c.APIKey = r.str("TEMPORAL_API_KEY", "")
	on := r.boolean("TEMPORAL_TLS", false) || ca != "" || cert != "" || key != "" || serverName != "" || c.APIKey != ""
	if !on {
		return c
	}
	c.TLS = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("TEMPORAL_TLS_CA: %w", err))
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				r.errs = append(r.errs, fmt.Errorf("TEMPORAL_TLS_CA: %s holds no PEM certificate", ca))
			}
			c.TLS.RootCAs = pool
		}
	}
	switch {
	case (cert == "") != (key == ""):
		r.errs = append(r.errs, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both (a client certificate and its key) or neither"))
	case cert != "":
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: %w", err))
		} else {
			c.TLS.Certificates = []tls.Certificate{pair}
		}
	}
	return c
}
