package snssqs

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/internal/logx"
)

// messageFields are the structured log fields that identify a message. They
// never include the body.
func messageFields(m *Message) logrus.Fields {
	return logrus.Fields{
		"queue":          m.QueueURL,
		"sqs_message_id": m.SQSMessageID,
		"type":           m.Type,
		"receive_count":  m.ReceiveCount,
	}
}

// Recover turns a panic in the wrapped handler into an error wrapping
// ErrHandlerPanic (whose text holds the panic value and stack) and logs it
// with the stack at Error level, so the message is retried and the
// subscriber keeps running. The Subscriber always applies it; use it
// directly only to wrap handlers elsewhere.
func Recover(logger logrus.FieldLogger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, m *Message) (err error) {
			defer func() {
				if r := recover(); r != nil {
					stack := debug.Stack()
					logger.WithFields(messageFields(m)).WithField("panic", fmt.Sprint(r)).
						WithField("stack", string(stack)).Error("snssqs: handler panicked")
					err = fmt.Errorf("%w: %v\n%s", ErrHandlerPanic, r, stack)
				}
			}()
			return next(ctx, m)
		}
	}
}

// Logging logs every handled message: type, ids, receive count, duration
// and outcome, at Info level on success and Warn level on failure. The body
// is logged only when the logger is at Debug level.
func Logging(logger logrus.FieldLogger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, m *Message) error {
			start := time.Now()
			err := next(ctx, m)
			entry := logger.WithFields(messageFields(m)).WithField("duration", time.Since(start))
			if logx.DebugEnabled(logger) {
				entry.WithField("body", string(m.Data)).Debug("snssqs: message body")
			}
			if err != nil {
				entry.WithError(err).Warn("snssqs: handler failed")
				return err
			}
			entry.Info("snssqs: handled message")
			return nil
		}
	}
}

// Timeout gives the wrapped handler a context that ends after d (or earlier,
// if the subscriber's HandlerTimeout comes first).
func Timeout(d time.Duration) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, m *Message) error {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next(ctx, m)
		}
	}
}
