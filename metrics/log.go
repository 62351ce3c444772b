package metrics

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// NewLogger builds the root logger of the process from the log block:
// level is "trace", "debug", "info", "warn" or "error" ("" means info);
// format is "json" or "text" ("" means json). Subsystems derive their
// loggers with Named and With. The logger writes only what callers pass
// it; nothing in this package logs FTP command lines.
//
// The logger takes sinks (RegisterSink), such as a SyslogSink, that see
// every line as well.
func NewLogger(level, format string, out io.Writer) (hclog.InterceptLogger, error) {
	lvl, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	var jsonFormat bool
	switch format {
	case "", "json":
		jsonFormat = true
	case "text":
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	if out == nil {
		return nil, fmt.Errorf("log output is nil")
	}
	return hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:       "ftpsgw",
		Level:      lvl,
		Output:     out,
		JSONFormat: jsonFormat,
		Color:      hclog.ColorOff,
		TimeFormat: "2006-01-02T15:04:05.000Z07:00",
	}), nil
}

func parseLevel(s string) (hclog.Level, error) {
	switch strings.ToLower(s) {
	case "":
		return hclog.Info, nil
	case "trace":
		return hclog.Trace, nil
	case "debug":
		return hclog.Debug, nil
	case "info":
		return hclog.Info, nil
	case "warn":
		return hclog.Warn, nil
	case "error":
		return hclog.Error, nil
	}
	return hclog.NoLevel, fmt.Errorf("log level %q: want trace, debug, info, warn or error", s)
}

// hclogStdOpts routes net/http server errors (TLS handshake failures,
// malformed requests) to the logger at debug level: scanners cause them.
var hclogStdOpts = hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}

// hclogAdapter lets promhttp report gathering errors through the logger.
type hclogAdapter struct{ m *Metrics }

// Println implements promhttp.Logger.
func (a hclogAdapter) Println(v ...any) {
	a.m.logger.Error("metrics gathering failed", "error", strings.TrimSpace(fmt.Sprint(v...)))
}
