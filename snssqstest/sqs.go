package snssqstest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snssqs/snssqs/clock"
)

// sqsService is the SQS half of the emulator: a registry of queues and the
// protocol-neutral operations that serveJSON and serveQuery decode into.
//
// Locking: mu guards only the queues map and is never held while a queue's
// own mutex is taken, so it cannot deadlock with the queue engine.
type sqsService struct {
	s               *Server
	account, region string // of every queue here: the server holds one service per account and region
	clk             clock.Clock
	closing         <-chan struct{}

	mu     sync.RWMutex
	queues map[string]*queue // by name

	moves moveTasks
}

func newSQSService(s *Server, account, region string) *sqsService {
	return &sqsService{s: s, account: account, region: region, clk: s.opts.clock, closing: s.closing, queues: make(map[string]*queue)}
}

// close ends every long poll. Long polls also watch the server's closing
// channel, so by the time close runs they are already returning; marking
// the queues deleted covers a service used without a running Server.
func (q *sqsService) close() {
	for _, x := range q.allQueues() {
		x.markDeleted()
	}
	q.moves.wg.Wait() // move tasks watch the server's closing channel
}

// allQueues returns the service's queues now.
func (q *sqsService) allQueues() []*queue {
	q.mu.RLock()
	defer q.mu.RUnlock()
	qs := make([]*queue, 0, len(q.queues))
	for _, x := range q.queues {
		qs = append(qs, x)
	}
	return qs
}

var sqsActions = map[string]bool{
	"CreateQueue": true, "DeleteQueue": true, "GetQueueUrl": true, "ListQueues": true,
	"GetQueueAttributes": true, "SetQueueAttributes": true, "SendMessage": true,
	"SendMessageBatch": true, "ReceiveMessage": true, "DeleteMessage": true,
	"DeleteMessageBatch": true, "ChangeMessageVisibility": true,
	"ChangeMessageVisibilityBatch": true, "PurgeQueue": true, "TagQueue": true,
	"UntagQueue": true, "ListQueueTags": true, "ListDeadLetterSourceQueues": true,
	"StartMessageMoveTask": true, "ListMessageMoveTasks": true, "CancelMessageMoveTask": true,
}

// isSQSAction reports whether a query-protocol action belongs to SQS.
func isSQSAction(action string) bool { return sqsActions[action] }

func (q *sqsService) queueARN(name string) string {
	return "arn:aws:sqs:" + q.region + ":" + q.account + ":" + name
}

func (q *sqsService) queueURL(name string) string {
	if q.account != q.s.opts.accountID || q.region != q.s.opts.region {
		return q.s.url + "/queue/" + q.region + "/" + q.account + "/" + name // LocalStack's path style
	}
	return q.s.url + "/" + q.account + "/" + name
}

// queueByName returns the queue or nil.
func (q *sqsService) queueByName(name string) *queue {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return q.queues[name]
}

// queueByARN returns the queue with that ARN (this account) or nil.
func (q *sqsService) queueByARN(arn string) *queue {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" {
		return nil
	}
	if parts[3] != q.region || parts[4] != q.account { // another region or account: another service
		return q.s.services(parts[4], parts[3]).sqs.queueByName(parts[5])
	}
	return q.queueByName(parts[5])
}

// resolve finds a queue by URL in any host form (localhost, 127.0.0.1,
// https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, LocalStack's path styles):
// only the last two path segments, account and name, count.
func (q *sqsService) resolve(queueURL string) (*queue, *sqsError) {
	if queueURL == "" {
		return nil, errMissingParameter("QueueUrl")
	}
	path := queueURL
	if u, err := url.Parse(queueURL); err == nil && u.Path != "" {
		path = u.Path
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	name := segs[len(segs)-1]
	if len(segs) >= 2 {
		if acct := segs[len(segs)-2]; isAccountID(acct) && acct != q.account {
			return nil, errQueueDoesNotExist()
		}
	}
	if region := urlRegion(queueURL, segs); region != "" && region != q.region ||
		region == "" && q.region != q.s.opts.region {
		return nil, errQueueDoesNotExist() // another region's queue
	}
	if x := q.queueByName(name); x != nil {
		return x, nil
	}
	return nil, errQueueDoesNotExist()
}

// urlRegion is the region a queue URL names, "" when it names none: the
// path /queue/REGION/ACCOUNT/NAME (LocalStack's style, and this emulator's
// for regions other than its default) or a host sqs.REGION.amazonaws.com or
// sqs.REGION.localhost.localstack.cloud.
func urlRegion(queueURL string, segs []string) string {
	if len(segs) >= 4 && segs[len(segs)-4] == "queue" {
		return segs[len(segs)-3]
	}
	if u, err := url.Parse(queueURL); err == nil {
		if h := strings.Split(u.Hostname(), "."); len(h) >= 3 && h[0] == "sqs" {
			return h[1]
		}
	}
	return ""
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

var queueNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// ---- queue operations ----

func (q *sqsService) createQueue(name string, attrs, tags map[string]string) (string, *sqsError) {
	if name == "" {
		return "", errMissingParameter("QueueName")
	}
	fifo := strings.HasSuffix(name, ".fifo")
	base := strings.TrimSuffix(name, ".fifo")
	if len(name) > 80 || !queueNameRE.MatchString(base) {
		return "", errInvalidParameterValue("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	wantFIFO := attrs["FifoQueue"] == "true"
	if fifo != wantFIFO {
		return "", errInvalidParameterValue("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
	}
	canon, err := q.normalizeQueueAttrs(attrs, fifo, true)
	if err != nil {
		return "", err
	}
	if len(tags) > 50 {
		return "", errInvalidParameterValue("Too many tags added for queue %s.", name)
	}
	if existing := q.queueByName(name); existing != nil {
		if attr, ok := existing.attrsMatch(canon); !ok {
			return "", errQueueNameExists(attr)
		}
		return existing.url, nil
	}
	full := defaultQueueAttrs(fifo)
	for k, v := range canon {
		if v != "" {
			full[k] = v
		}
	}
	t := make(map[string]string, len(tags))
	for k, v := range tags {
		t[k] = v
	}
	nq := newQueue(q, name, fifo, full, t, q.clk.Now())
	q.mu.Lock()
	if existing := q.queues[name]; existing != nil { // lost a race with an identical create
		q.mu.Unlock()
		if attr, ok := existing.attrsMatch(canon); !ok {
			return "", errQueueNameExists(attr)
		}
		return existing.url, nil
	}
	q.queues[name] = nq
	q.mu.Unlock()
	return nq.url, nil
}

func defaultQueueAttrs(fifo bool) map[string]string {
	a := map[string]string{
		"VisibilityTimeout":             "30",
		"DelaySeconds":                  "0",
		"ReceiveMessageWaitTimeSeconds": "0",
		"MessageRetentionPeriod":        "345600",
		"MaximumMessageSize":            strconv.Itoa(defaultMaxMessageSize),
		"SqsManagedSseEnabled":          "true",
	}
	if fifo {
		a["FifoQueue"] = "true"
		a["ContentBasedDeduplication"] = "false"
		a["DeduplicationScope"] = "queue"
		a["FifoThroughputLimit"] = "perQueue"
	}
	return a
}

func (q *sqsService) deleteQueue(queueURL string) *sqsError {
	x, err := q.resolve(queueURL)
	if err != nil {
		return err
	}
	q.mu.Lock()
	if q.queues[x.name] == x {
		delete(q.queues, x.name)
	}
	q.mu.Unlock()
	x.markDeleted()
	return nil
}

func (q *sqsService) getQueueURL(name, owner string) (string, *sqsError) {
	if name == "" {
		return "", errMissingParameter("QueueName")
	}
	if owner != "" && owner != q.account {
		return "", errQueueDoesNotExist()
	}
	if x := q.queueByName(name); x != nil {
		return x.url, nil
	}
	return "", errQueueDoesNotExist()
}

func (q *sqsService) listQueues(prefix string, maxResults int, nextToken string) ([]string, string, *sqsError) {
	if maxResults < 0 || maxResults > 1000 {
		return nil, "", errInvalidParameterValue("Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", maxResults)
	}
	after := ""
	if nextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(nextToken)
		if err != nil {
			return nil, "", errInvalidParameterValue("Invalid NextToken value.")
		}
		after = string(raw)
	}
	q.mu.RLock()
	names := make([]string, 0, len(q.queues))
	for n := range q.queues {
		if strings.HasPrefix(n, prefix) && n > after {
			names = append(names, n)
		}
	}
	q.mu.RUnlock()
	sort.Strings(names)
	limit := 1000
	if maxResults > 0 {
		limit = maxResults
	}
	token := ""
	if len(names) > limit {
		names = names[:limit]
		if maxResults > 0 {
			token = base64.RawURLEncoding.EncodeToString([]byte(names[len(names)-1]))
		}
	}
	urls := make([]string, len(names))
	for i, n := range names {
		urls[i] = q.queueURL(n)
	}
	return urls, token, nil
}

// getQueueAttributes returns the requested attributes ("All" for every one).
func (q *sqsService) getQueueAttributes(queueURL string, names []string) (map[string]string, *sqsError) {
	x, err := q.resolve(queueURL)
	if err != nil {
		return nil, err
	}
	all := x.snapshotAttributes()
	if len(names) == 0 {
		return map[string]string{}, nil
	}
	out := make(map[string]string)
	for _, n := range names {
		if n == "All" {
			return all, nil
		}
		if !knownQueueAttribute(n) {
			return nil, errInvalidAttributeName("Unknown Attribute %s.", n)
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out, nil
}

func (q *sqsService) setQueueAttributes(queueURL string, attrs map[string]string) *sqsError {
	x, err := q.resolve(queueURL)
	if err != nil {
		return err
	}
	if len(attrs) == 0 {
		return errMissingParameter("Attribute.Name")
	}
	canon, err := q.normalizeQueueAttrs(attrs, x.fifo, false)
	if err != nil {
		return err
	}
	x.setAttributes(canon)
	return nil
}

func (q *sqsService) purgeQueue(queueURL string) *sqsError {
	x, err := q.resolve(queueURL)
	if err != nil {
		return err
	}
	return x.purge()
}

func (q *sqsService) tagQueue(queueURL string, tags map[string]string) *sqsError {
	x, err := q.resolve(queueURL)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		return errMissingParameter("Tags")
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	n := len(x.tags)
	for k := range tags {
		if _, ok := x.tags[k]; !ok {
			n++
		}
	}
	if n > 50 { // checked before any is stored: a refused TagQueue changes nothing
		return errInvalidParameterValue("Too many tags added for queue %s.", x.name)
	}
	for k, v := range tags {
		x.tags[k] = v
	}
	return nil
}

func (q *sqsService) untagQueue(queueURL string, keys []string) *sqsError {
	x, err := q.resolve(queueURL)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errMissingParameter("TagKeys")
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range keys {
		delete(x.tags, k)
	}
	return nil
}

func (q *sqsService) listQueueTags(queueURL string) (map[string]string, *sqsError) {
	x, err := q.resolve(queueURL)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make(map[string]string, len(x.tags))
	for k, v := range x.tags {
		out[k] = v
	}
	return out, nil
}

// listDeadLetterSourceQueues returns the URLs of the queues whose redrive
// policy targets queueURL.
func (q *sqsService) listDeadLetterSourceQueues(queueURL string) ([]string, *sqsError) {
	x, err := q.resolve(queueURL)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range q.allQueues() {
		o.mu.Lock()
		if o.cfg.dlqARN == x.arn {
			out = append(out, o.url)
		}
		o.mu.Unlock()
	}
	sort.Strings(out)
	return out, nil
}

// ---- message operations ----

// sendEntry is one message to send, as decoded from either protocol.
type sendEntry struct {
	ID               string // batch entry id
	Body             string
	HasBody          bool
	DelaySeconds     *int
	Attributes       map[string]messageAttribute
	SystemAttributes map[string]messageAttribute
	GroupID          string
	DedupID          string
}

// sendResult is a successful send.
type sendResult struct {
	ID          string
	MessageID   string
	MD5Body     string
	MD5Attrs    string
	MD5SysAttrs string
	Seq         string
}

// batchFailure is one failed batch entry.
type batchFailure struct {
	ID          string
	Code        string
	Message     string
	SenderFault bool
}

func failureOf(id string, e *sqsError) batchFailure {
	return batchFailure{ID: id, Code: e.queryCode, Message: e.message, SenderFault: e.sender}
}

func (q *sqsService) sendMessage(queueURL string, e sendEntry, senderID string) (sendResult, *sqsError) {
	x, err := q.resolve(queueURL)
	if err != nil {
		return sendResult{}, err
	}
	return q.sendTo(x, e, senderID)
}

func (q *sqsService) sendTo(x *queue, e sendEntry, senderID string) (sendResult, *sqsError) {
	m, delay, err := buildMessage(x, e)
	if err != nil {
		return sendResult{}, err
	}
	m.id = newUUID()
	m.senderID = senderID
	res, eerr := x.enqueue(m, delay)
	if eerr != nil {
		return sendResult{}, errQueueDoesNotExist()
	}
	return sendResult{ID: e.ID, MessageID: res.messageID, MD5Body: m.md5Body, MD5Attrs: m.md5Attrs, MD5SysAttrs: m.md5SysAttrs, Seq: res.seq}, nil
}

func (q *sqsService) sendMessageBatch(queueURL string, entries []sendEntry, senderID string) ([]sendResult, []batchFailure, *sqsError) {
	x, err := q.resolve(queueURL)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	if err := validateBatchIDs(ids, "SendMessageBatchRequestEntry"); err != nil {
		return nil, nil, err
	}
	total := 0
	for _, e := range entries {
		total += messageSize(e.Body, e.Attributes)
	}
	if limit := x.config().maxMessageSize; total > limit {
		return nil, nil, errBatchRequestTooLong(total, limit)
	}
	var ok []sendResult
	var failed []batchFailure
	for _, e := range entries {
		r, err := q.sendTo(x, e, senderID)
		if err != nil {
			failed = append(failed, failureOf(e.ID, err))
			continue
		}
		ok = append(ok, r)
	}
	return ok, failed, nil
}

// receiveRequest is a ReceiveMessage request as decoded from either protocol.
type receiveRequest struct {
	QueueURL         string
	Max              *int
	Wait             *int
	Visibility       *int
	SystemAttrNames  []string
	MessageAttrNames []string
	ReceiveAttemptID string
}

// receivedMessage is one message in a ReceiveMessage response.
type receivedMessage struct {
	MessageID         string
	ReceiptHandle     string
	Body              string
	MD5Body           string
	MD5Attrs          string
	Attributes        map[string]string
	MessageAttributes map[string]messageAttribute
}

func (q *sqsService) receiveMessage(ctx context.Context, r receiveRequest) ([]receivedMessage, *sqsError) {
	x, err := q.resolve(r.QueueURL)
	if err != nil {
		return nil, err
	}
	cfg := x.config()
	opts := receiveOptions{max: 1, wait: time.Duration(cfg.waitTimeSeconds) * time.Second, visibility: time.Duration(cfg.visibilityTimeout) * time.Second}
	if r.Max != nil {
		if *r.Max < 1 || *r.Max > maxReceiveMessages {
			return nil, errInvalidParameterValue("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", *r.Max)
		}
		opts.max = *r.Max
	}
	if r.Wait != nil {
		if *r.Wait < 0 || *r.Wait > maxWaitTimeSeconds {
			return nil, errInvalidParameterValue("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", *r.Wait)
		}
		opts.wait = time.Duration(*r.Wait) * time.Second
	}
	if r.Visibility != nil {
		if err := validateVisibility(*r.Visibility); err != nil {
			return nil, err
		}
		opts.visibility = time.Duration(*r.Visibility) * time.Second
	}
	sys := systemAttrSelector(r.SystemAttrNames)
	ds := x.receive(ctx, opts)
	out := make([]receivedMessage, 0, len(ds))
	for _, d := range ds {
		out = append(out, renderDelivery(d, sys, r.MessageAttrNames))
	}
	return out, nil
}

func (q *sqsService) deleteMessage(queueURL, handle string) *sqsError {
	x, err := q.resolve(queueURL)
	if err != nil {
		return err
	}
	if handle == "" {
		return errMissingParameter("ReceiptHandle")
	}
	return x.deleteMessage(handle)
}

// handleEntry is one entry of DeleteMessageBatch or ChangeMessageVisibilityBatch.
type handleEntry struct {
	ID            string
	ReceiptHandle string
	Visibility    *int
}

func (q *sqsService) deleteMessageBatch(queueURL string, entries []handleEntry) ([]string, []batchFailure, *sqsError) {
	return q.handleBatch(queueURL, "DeleteMessageBatchRequestEntry", entries, func(x *queue, e handleEntry) *sqsError {
		return x.deleteMessage(e.ReceiptHandle)
	})
}

// handleBatch is the shared body of DeleteMessageBatch and
// ChangeMessageVisibilityBatch: it resolves the queue, validates the batch
// ids (entryName names the entry in the EmptyBatchRequest message), then
// applies apply to every entry that carries a receipt handle, collecting
// the ids that succeeded and a failure per entry that did not.
func (q *sqsService) handleBatch(queueURL, entryName string, entries []handleEntry, apply func(*queue, handleEntry) *sqsError) ([]string, []batchFailure, *sqsError) {
	x, err := q.resolve(queueURL)
	if err != nil {
		return nil, nil, err
	}
	if err := validateBatchIDs(handleIDs(entries), entryName); err != nil {
		return nil, nil, err
	}
	var ok []string
	var failed []batchFailure
	for _, e := range entries {
		if e.ReceiptHandle == "" {
			failed = append(failed, failureOf(e.ID, errMissingParameter("ReceiptHandle")))
			continue
		}
		if err := apply(x, e); err != nil {
			failed = append(failed, failureOf(e.ID, err))
			continue
		}
		ok = append(ok, e.ID)
	}
	return ok, failed, nil
}

func (q *sqsService) changeMessageVisibility(queueURL, handle string, visibility *int) *sqsError {
	x, err := q.resolve(queueURL)
	if err != nil {
		return err
	}
	if handle == "" {
		return errMissingParameter("ReceiptHandle")
	}
	if visibility == nil {
		return errMissingParameter("VisibilityTimeout")
	}
	if err := validateVisibility(*visibility); err != nil {
		return err
	}
	return x.changeVisibility(handle, time.Duration(*visibility)*time.Second)
}

func (q *sqsService) changeMessageVisibilityBatch(queueURL string, entries []handleEntry) ([]string, []batchFailure, *sqsError) {
	return q.handleBatch(queueURL, "ChangeMessageVisibilityBatchRequestEntry", entries, func(x *queue, e handleEntry) *sqsError {
		v := 0
		if e.Visibility != nil {
			v = *e.Visibility
		}
		if err := validateVisibility(v); err != nil {
			return err
		}
		return x.changeVisibility(e.ReceiptHandle, time.Duration(v)*time.Second)
	})
}

// validateVisibility checks a VisibilityTimeout in seconds against SQS's
// 0..43200 range.
func validateVisibility(seconds int) *sqsError {
	if seconds < 0 || seconds > maxVisibilityTimeout {
		return errInvalidParameterValue("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", seconds)
	}
	return nil
}

func handleIDs(entries []handleEntry) []string {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return ids
}

var batchIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// validateBatchIDs applies the batch rules: 1..10 entries, valid, distinct ids.
func validateBatchIDs(ids []string, entryName string) *sqsError {
	if len(ids) == 0 {
		return errEmptyBatchRequest(entryName)
	}
	if len(ids) > 10 {
		return errTooManyEntriesInBatchRequest(len(ids))
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !batchIDRE.MatchString(id) {
			return errInvalidBatchEntryID()
		}
		if seen[id] {
			return errBatchEntryIdsNotDistinct(id)
		}
		seen[id] = true
	}
	return nil
}

// deliverFromSNS enqueues a message SNS delivers to a subscribed queue,
// with the same validation as SendMessage (size, characters, FIFO ids).
func (q *sqsService) deliverFromSNS(queueARN string, m inboundMessage) error {
	x := q.queueByARN(queueARN)
	if x == nil {
		return fmt.Errorf("snssqstest: sqs: no queue %s", queueARN)
	}
	e := sendEntry{Body: m.Body, HasBody: true, Attributes: m.Attributes, GroupID: m.MessageGroupID, DedupID: m.MessageDeduplicationID}
	if _, err := q.sendTo(x, e, m.SenderID); err != nil {
		return fmt.Errorf("snssqstest: sqs: deliver to %s: %w", queueARN, err)
	}
	return nil
}

// config returns a copy of the queue's typed configuration.
func (x *queue) config() queueConfig {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.cfg
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// senderIDOf is the SenderId of messages sent through the API: the account
// id, as AWS reports for the account's root credentials.
func (q *sqsService) senderIDOf(*http.Request) string { return q.account }
