package snssqstest

import (
	"bytes"
	"encoding/xml"
)

// queryResponseMetadata is the <ResponseMetadata> element that closes every
// successful query-protocol (SNS, STS) response.
type queryResponseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// queryResponseBody encodes a successful query-protocol response:
// <ActionResponse xmlns="…"><ActionResult>…</ActionResult>
// <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></ActionResponse>.
// A nil result omits the result element, as AWS does for actions without
// output. It fails only when result cannot be encoded.
func queryResponseBody(xmlns, action, requestID string, result any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`<` + action + `Response xmlns="` + xmlns + `">`)
	enc := xml.NewEncoder(&buf)
	if result != nil {
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return nil, err
		}
	}
	_ = enc.EncodeElement(queryResponseMetadata{RequestID: requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	_ = enc.Flush()
	buf.WriteString(`</` + action + `Response>`)
	return buf.Bytes(), nil
}

// queryErrorBody encodes a query-protocol (SNS, STS) error:
// <ErrorResponse xmlns="…"><Error><Type/><Code/><Message/></Error>
// <RequestId/></ErrorResponse>. typ is the fault, "Sender" or "Receiver".
func queryErrorBody(xmlns, typ, code, message, requestID string) []byte {
	type errorXML struct {
		Type    string
		Code    string
		Message string
	}
	type errorResponse struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     errorXML
		RequestID string `xml:"RequestId"`
	}
	body, _ := xml.Marshal(errorResponse{Xmlns: xmlns, Error: errorXML{Type: typ, Code: code, Message: message}, RequestID: requestID})
	return body
}
