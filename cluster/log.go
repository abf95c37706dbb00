package cluster

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// newMemberlistLogger adapts memberlist's "[LEVEL] memberlist: message"
// lines to slog. Debug lines (every probe and push-pull) are dropped.
func newMemberlistLogger(logger *slog.Logger) *log.Logger {
	return log.New(memberlistWriter{logger: logger}, "", 0)
}

type memberlistWriter struct{ logger *slog.Logger }

var memberlistLevels = []struct {
	prefix []byte
	level  slog.Level
	drop   bool
}{
	{[]byte("[DEBUG]"), slog.LevelDebug, true},
	{[]byte("[INFO]"), slog.LevelInfo, false},
	{[]byte("[WARN]"), slog.LevelWarn, false},
	{[]byte("[ERR]"), slog.LevelError, false},
	{[]byte("[ERROR]"), slog.LevelError, false},
}

func (w memberlistWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, l := range memberlistLevels {
		if bytes.HasPrefix(line, l.prefix) {
			if l.drop {
				return len(p), nil
			}
			level = l.level
			line = bytes.TrimSpace(line[len(l.prefix):])
			break
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	w.logger.Log(context.Background(), level, string(line))
	return len(p), nil
}

// floorHandler drops records below a level, so protoactor's chatty Info logs
// (one per member on every topology change) stay out of ours by default.
type floorHandler struct {
	slog.Handler
	floor slog.Level
}

func (h floorHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.floor && h.Handler.Enabled(ctx, level)
}

func (h floorHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return floorHandler{Handler: h.Handler.WithAttrs(attrs), floor: h.floor}
}

func (h floorHandler) WithGroup(name string) slog.Handler {
	return floorHandler{Handler: h.Handler.WithGroup(name), floor: h.floor}
}
