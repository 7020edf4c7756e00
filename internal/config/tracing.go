package config

// Tracing says whether and how spans are exported, from the standard
// OpenTelemetry variables. The exporter reads the rest of them (endpoint,
// headers, TLS, timeout) and the SDK OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES and OTEL_TRACES_SAMPLER from the process
// environment itself.
type Tracing struct {
	// Enabled: OTEL_TRACES_EXPORTER=otlp, or an OTLP endpoint is set, and
	// OTEL_SDK_DISABLED is not true. Off, no span is recorded or exported.
	Enabled bool
	// Protocol is "http/protobuf" (the default) or "grpc".
	Protocol string
}

func (r *reader) tracing() Tracing {
	exporter := r.str("OTEL_TRACES_EXPORTER", "")
	if exporter != "" && exporter != "otlp" && exporter != "none" {
		r.fail("OTEL_TRACES_EXPORTER", exporter, "want otlp or none")
	}
	endpoint := r.str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", r.str("OTEL_EXPORTER_OTLP_ENDPOINT", ""))
	protocol := r.str("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", r.str("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"))
	if protocol != "http/protobuf" && protocol != "grpc" {
		r.fail("OTEL_EXPORTER_OTLP_PROTOCOL", protocol, "want http/protobuf or grpc")
		protocol = "http/protobuf"
	}
	return Tracing{
		Enabled:  !r.boolean("OTEL_SDK_DISABLED", false) && (exporter == "otlp" || exporter == "" && endpoint != ""),
		Protocol: protocol,
	}
}
