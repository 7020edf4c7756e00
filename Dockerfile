# webhookd: one static binary (it embeds the Temporal dev server for `dev`).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /webhookd ./cmd/webhookd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /webhookd /webhookd
USER nonroot:nonroot
ENTRYPOINT ["/webhookd"]
