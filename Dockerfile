# syntax=docker/dockerfile:1
#
# webhookd: one static binary (it also embeds the Temporal dev server used by
# `webhookd dev`, which is why the build is slow and the binary large).
#
#   docker build -t webhookd .
#   docker run --rm webhookd version
#
# The compose stack (docker-compose.yml) builds this image for its
# webhookd-keygen, webhookd-migrate, webhookd-api and webhookd-worker
# services; the Helm chart (deploy/helm) runs it too.

# go.mod says `go 1.26.8` and the golang image sets GOTOOLCHAIN=local, so the
# builder must be Go 1.26.8 or newer.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src

# Module download in its own layer: it is rebuilt only when go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# Stamped into `webhookd version` and the User-Agent of outbound requests.
ARG VERSION=0.1.0-dev
# The cache mount keeps Go's build cache between image builds (BuildKit).
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/webhookd/webhookd/internal/app.Version=${VERSION}" \
      -o /webhookd ./cmd/webhookd

# Static, non-root runtime: no shell, no package manager; CA certificates and
# tzdata are included. webhookd needs no files at run time.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /webhookd /webhookd
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/webhookd"]
CMD ["--help"]
