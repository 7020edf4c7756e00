package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIDocument is the API's OpenAPI 3.1 description, maintained by hand
// in openapi.json. The api tests validate every request and response they
// make against it, and check that it documents exactly the routes in
// routes.go.
//
//go:embed openapi.json
var openAPIDocument []byte

func openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openAPIDocument)
}
