package inbox_test

import (
	"fmt"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/inbox"
)

func ExampleRender() {
	done := time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)
	e := smsagent.Event{Seq: 3, Kind: smsagent.EventReport, Time: done, Subject: "42",
		Report: &smsagent.Report{MessageID: 42, To: "+358401234567", Status: "delivered", Stat: "DELIVRD", Err: "000", Done: done}}
	name, data, err := inbox.Render(e, inbox.FormatSMSTools)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(name)
	fmt.Print(string(data))
	// Output:
	// 20261125T181500.000Z-42.report
	// From: 358401234567
	// Received: 26-11-25 18:15:00
	// Report_status: delivered
	// Stat: DELIVRD
	// Err: 000
	//
	// SMS STATUS REPORT
	// Message_id: 42
	// Discharge_timestamp: 26-11-25 18:15:00
	// Status: 0,Ok,short message received by the SME
}
