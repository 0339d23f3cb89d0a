package snssqstest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MD5 vectors produced by moto 5.2.1 (an independent SQS implementation)
// for the same attributes.
func TestMD5OfAttributesMatchesReferenceVectors(t *testing.T) {
	simple := map[string]messageAttribute{"timestamp": {DataType: "Number", StringValue: "1493147359900"}}
	assert.Equal(t, "235c5c510d26fb653d073faed50ae77c", md5OfAttributes(simple))

	mixed := map[string]messageAttribute{
		"timestamp": {DataType: "Number", StringValue: "1493147359900"},
		"name":      {DataType: "String", StringValue: "Ünïcode ✓"},
		"bin":       {DataType: "Binary", BinaryValue: []byte{0, 1, 2, 0xff}},
		"custom":    {DataType: "String.custom", StringValue: "x"},
	}
	assert.Equal(t, "5bbb4538f80a288d1f13eab4d8d92427", md5OfAttributes(mixed))
	assert.Equal(t, "5eb63bbbe01eeed093cb22bb8f5acdc3", md5Hex("hello world"))
	assert.Empty(t, md5OfAttributes(nil))
}

func TestReceiptHandleRoundTrip(t *testing.T) {
	h := encodeReceipt("0b5c5c2e-1111-4222-8333-944444444444", 42)
	id, token, ok := decodeReceipt(h)
	require.True(t, ok)
	assert.Equal(t, "0b5c5c2e-1111-4222-8333-944444444444", id)
	assert.Equal(t, uint64(42), token)
	for _, bad := range []string{"", "garbage!", "Zm9v", encodeReceipt("", 1)} {
		_, _, ok := decodeReceipt(bad)
		assert.False(t, ok, bad)
	}
}

func TestDequePushPopFilter(t *testing.T) {
	var d deque[int]
	for i := 0; i < 1000; i++ {
		d.pushBack(i)
	}
	for i := 0; i < 600; i++ {
		v, ok := d.popFront()
		require.True(t, ok)
		require.Equal(t, i, v)
	}
	assert.Equal(t, 400, d.len())
	d.filter(func(v int) bool { return v%2 == 0 })
	assert.Equal(t, 200, d.len())
	v, _ := d.front()
	assert.Equal(t, 600, v)
	assert.Equal(t, 998, d.at(199))
	for d.len() > 0 {
		d.popFront()
	}
	_, ok := d.popFront()
	assert.False(t, ok)
}

func TestValidMessageChars(t *testing.T) {
	assert.True(t, validMessageChars("tab\there\nnew\rline ✓ 😀 \uE000 \uFFFD"))
	for _, bad := range []string{"\x00", "\x08", "\uFFFE", "\xff\xfe"} {
		assert.False(t, validMessageChars(bad), "%q", bad)
	}
}

func TestValidateMessageAttributes(t *testing.T) {
	ok := map[string]messageAttribute{
		"a.b-c_d": {DataType: "Number.int", StringValue: "-1.5e3"},
		"bin":     {DataType: "Binary", BinaryValue: []byte{1}},
	}
	assert.Nil(t, validateMessageAttributes(ok))
	bad := []map[string]messageAttribute{
		{"AWS.x": {DataType: "String", StringValue: "v"}},
		{".x": {DataType: "String", StringValue: "v"}},
		{"a..b": {DataType: "String", StringValue: "v"}},
		{"x": {DataType: "Text", StringValue: "v"}},
		{"x": {DataType: "", StringValue: "v"}},
		{"x": {DataType: "String"}},
		{"x": {DataType: "Number", StringValue: "abc"}},
		{"x": {DataType: "Binary"}},
	}
	for _, attrs := range bad {
		err := validateMessageAttributes(attrs)
		require.NotNil(t, err, "%v", attrs)
		assert.Equal(t, "InvalidParameterValue", err.queryCode)
	}
	many := map[string]messageAttribute{}
	for i := 0; i < 11; i++ {
		many[string(rune('a'+i))] = messageAttribute{DataType: "String", StringValue: "v"}
	}
	assert.NotNil(t, validateMessageAttributes(many))
}

func TestParseRedrivePolicyAcceptsNumberOrString(t *testing.T) {
	for _, v := range []string{
		`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":3}`,
		`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"3"}`,
	} {
		p, err := parseRedrivePolicy(v)
		require.NoError(t, err)
		assert.Equal(t, 3, p.maxReceiveCount)
		assert.Equal(t, `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":3}`, p.canonical())
	}
	for _, v := range []string{`{}`, `nope`, `{"deadLetterTargetArn":"x","maxReceiveCount":0}`, `{"deadLetterTargetArn":"x"}`} {
		_, err := parseRedrivePolicy(v)
		assert.Error(t, err, v)
	}
}

// The engine never scans: a queue with many in-flight messages still
// receives the visible one, and retention drops expired messages.
func TestQueueEngineRetentionAndCounts(t *testing.T) {
	clk := sqsFakeClock()
	srv := Run(t, WithClock(clk))
	_, err := srv.CreateQueue("ret", map[string]string{"MessageRetentionPeriod": "60"})
	require.NoError(t, err)
	x := srv.sqs.queueByName("ret")
	for i := 0; i < 3; i++ {
		m, delay, serr := buildMessage(x, sendEntry{Body: "b", HasBody: true})
		require.Nil(t, serr)
		m.id = newUUID()
		_, err := x.enqueue(m, delay)
		require.NoError(t, err)
	}
	got := x.receive(t.Context(), receiveOptions{max: 1, visibility: time.Hour})
	require.Len(t, got, 1)
	v, f, d := srv.Counts("ret")
	assert.Equal(t, [3]int{2, 1, 0}, [3]int{v, f, d})

	clk.Advance(61 * time.Second)
	v, f, d = srv.Counts("ret")
	assert.Equal(t, [3]int{0, 0, 0}, [3]int{v, f, d}, "retention drops visible and in-flight messages")
	assert.Empty(t, srv.Messages("ret"))
}

func TestQueueReceiveReturnsOnContextCancel(t *testing.T) {
	clk := sqsFakeClock()
	srv := Run(t, WithClock(clk))
	_, err := srv.CreateQueue("cancel", nil)
	require.NoError(t, err)
	x := srv.sqs.queueByName("cancel")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan []delivery, 1)
	go func() {
		done <- x.receive(ctx, receiveOptions{max: 1, wait: 20 * time.Second, visibility: time.Second})
	}()
	require.True(t, clk.BlockUntil(1, t.Context().Done()))
	cancel()
	assert.Empty(t, <-done)
	x.mu.Lock()
	defer x.mu.Unlock()
	assert.Zero(t, x.waiters, "the poll unregistered")
	assert.Zero(t, clk.Waiters(), "the poll stopped its timer")
}
