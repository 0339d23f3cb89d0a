// Package logx holds the one logging helper every package of snssqs shares.
package logx

import "github.com/sirupsen/logrus"

// DebugEnabled reports whether l would emit Debug entries, when it can tell;
// loggers of unknown kinds are assumed to filter Debug themselves. Callers
// check it before building the fields of a debug line (message bodies
// included), which costs more than the line.
func DebugEnabled(l logrus.FieldLogger) bool {
	switch x := l.(type) {
	case *logrus.Logger:
		return x.IsLevelEnabled(logrus.DebugLevel)
	case *logrus.Entry:
		return x.Logger.IsLevelEnabled(logrus.DebugLevel)
	default:
		return true
	}
}
