package tlsmgr

import (
	"maps"
	"slices"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newZapLogger returns a zap logger (what certmagic speaks) that writes
// every entry to log, fields as key/value pairs. zap's Info goes to hclog's
// Info; anything at Error or above to Error.
func newZapLogger(log hclog.Logger) *zap.Logger {
	return zap.New(&hclogCore{log: log})
}

// hclogCore is a zapcore.Core backed by an hclog.Logger.
type hclogCore struct {
	log    hclog.Logger
	fields []zapcore.Field
}

func (c *hclogCore) Enabled(l zapcore.Level) bool {
	return levelOf(l) >= c.log.GetLevel()
}

func (c *hclogCore) With(fields []zapcore.Field) zapcore.Core {
	f := make([]zapcore.Field, 0, len(c.fields)+len(fields))
	f = append(append(f, c.fields...), fields...)
	return &hclogCore{log: c.log, fields: f}
}

func (c *hclogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *hclogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	args := make([]any, 0, 2*len(enc.Fields)+2)
	if e.LoggerName != "" {
		args = append(args, "logger", e.LoggerName)
	}
	for _, k := range slices.Sorted(maps.Keys(enc.Fields)) {
		args = append(args, k, enc.Fields[k])
	}
	c.log.Log(levelOf(e.Level), e.Message, args...)
	return nil
}

func (c *hclogCore) Sync() error { return nil }

func levelOf(l zapcore.Level) hclog.Level {
	switch {
	case l < zapcore.InfoLevel:
		return hclog.Debug
	case l == zapcore.InfoLevel:
		return hclog.Info
	case l == zapcore.WarnLevel:
		return hclog.Warn
	}
	return hclog.Error
}
