package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"crm"
)

// errorBody is the one error shape: {"error": {"code", "message", "details"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = []struct {
	kind   error
	status int
}{
	{crm.ErrInvalid, http.StatusBadRequest},
	{crm.ErrUnauthenticated, http.StatusUnauthorized},
	{crm.ErrForbidden, http.StatusForbidden},
	{crm.ErrNotFound, http.StatusNotFound},
	{crm.ErrConflict, http.StatusConflict},
	{crm.ErrTooLarge, http.StatusRequestEntityTooLarge},
	{crm.ErrUnprocessable, http.StatusUnprocessableEntity},
	{crm.ErrRateLimited, http.StatusTooManyRequests},
	{crm.ErrPlanLimit, http.StatusPaymentRequired},
}

// writeError answers err as JSON with its status. Unknown errors are logged
// and answered as 500 without their text.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	var coded *crm.Error
	if !errors.As(err, &coded) {
		log.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method,
			"path", c.FullPath(), "error", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{Error: errorDetail{
			Code: "internal", Message: "internal error"}})
		return
	}
	status := http.StatusInternalServerError
	for _, row := range statusOf {
		if errors.Is(coded.Kind, row.kind) {
			status = row.status
			break
		}
	}
	if status == http.StatusTooManyRequests {
		if secs, ok := coded.Details["retry_after_seconds"].(int); ok {
			c.Header("Retry-After", strconv.Itoa(secs))
		}
	}
	c.AbortWithStatusJSON(status, errorBody{Error: errorDetail{Code: coded.Code, Message: coded.Message,
		Details: coded.Details}})
}
