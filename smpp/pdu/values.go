package pdu

import "fmt"

// Interface versions for bind's interface_version and the
// sc_interface_version TLV (§5.2.4).
const (
	InterfaceVersion33 uint8 = 0x33 // 3.3 or earlier
	InterfaceVersion34 uint8 = 0x34
	InterfaceVersion50 uint8 = 0x50 // seen from peers that speak 5.0
)

// TON is an address's type of number (§5.2.5).
type TON uint8

const (
	TONUnknown          TON = 0
	TONInternational    TON = 1
	TONNational         TON = 2
	TONNetworkSpecific  TON = 3
	TONSubscriberNumber TON = 4
	TONAlphanumeric     TON = 5
	TONAbbreviated      TON = 6
)

// NPI is an address's numbering plan indicator (§5.2.6).
type NPI uint8

const (
	NPIUnknown     NPI = 0
	NPIISDN        NPI = 1 // E.163/E.164: ordinary phone numbers
	NPIData        NPI = 3 // X.121
	NPITelex       NPI = 4 // F.69
	NPILandMobile  NPI = 6 // E.212
	NPINational    NPI = 8
	NPIPrivate     NPI = 9
	NPIERMES       NPI = 10
	NPIInternet    NPI = 14 // IP
	NPIWAPClientID NPI = 18 // defined by the WAP Forum
)

// Address is an SME address with its TON and NPI: the triple that source,
// destination, ESME and range addresses are made of (§5.2.5-§5.2.8).
type Address struct {
	TON  TON
	NPI  NPI
	Addr string
}

func (a Address) String() string {
	return fmt.Sprintf("%d/%d:%s", a.TON, a.NPI, a.Addr)
}

// ESMClass is the esm_class octet (§5.2.12): messaging mode in bits 0-1,
// message type in bits 2-5, GSM features in bits 6-7. Test bits with the
// masks: SMSCs set more than one field (a receipt with UDHI is 0x44).
type ESMClass uint8

const (
	// Messaging mode, bits 1-0 (submit_sm, submit_multi, data_sm).
	ESMModeDefault      ESMClass = 0x00 // SMSC default mode, usually store and forward
	ESMModeDatagram     ESMClass = 0x01
	ESMModeForward      ESMClass = 0x02 // transaction mode
	ESMModeStoreForward ESMClass = 0x03
	ESMModeMask         ESMClass = 0x03

	// Message type, bits 5-2. In deliver_sm: 0x04 SMSC delivery receipt,
	// 0x08 SME delivery acknowledgement, 0x10 SME manual/user
	// acknowledgement, 0x18 conversation abort, 0x20 intermediate delivery
	// notification. In submit_sm, 0x08 and 0x10 are the ESME's
	// acknowledgements.
	ESMTypeDefault           ESMClass = 0x00
	ESMTypeDeliveryReceipt   ESMClass = 0x04
	ESMTypeDeliveryAck       ESMClass = 0x08
	ESMTypeManualAck         ESMClass = 0x10
	ESMTypeConversationAbort ESMClass = 0x18
	ESMTypeIntermediate      ESMClass = 0x20
	ESMTypeMask              ESMClass = 0x3C

	// GSM network specific features, bits 7-6.
	ESMUDHI      ESMClass = 0x40 // short_message starts with a user data header
	ESMReplyPath ESMClass = 0x80
)

// Mode is the messaging mode bits.
func (e ESMClass) Mode() ESMClass { return e & ESMModeMask }

// Type is the message type bits.
func (e ESMClass) Type() ESMClass { return e & ESMTypeMask }

// UDHI reports whether the user data header indicator is set.
func (e ESMClass) UDHI() bool { return e&ESMUDHI != 0 }

// RegisteredDelivery is the registered_delivery octet (§5.2.17).
type RegisteredDelivery uint8

const (
	// SMSC delivery receipt, bits 1-0.
	RegDeliveryNone        RegisteredDelivery = 0x00
	RegDeliveryFinal       RegisteredDelivery = 0x01 // on final outcome, success or failure
	RegDeliveryFailure     RegisteredDelivery = 0x02 // on failure only
	RegDeliveryReceiptMask RegisteredDelivery = 0x03

	// SME originated acknowledgement, bits 3-2.
	RegDeliverySMEAck       RegisteredDelivery = 0x04
	RegDeliverySMEManualAck RegisteredDelivery = 0x08
	RegDeliverySMEBothAck   RegisteredDelivery = 0x0C
	RegDeliverySMEAckMask   RegisteredDelivery = 0x0C
	RegDeliveryIntermediate RegisteredDelivery = 0x10 // intermediate notification, bit 4
)

// Receipt is the SMSC delivery receipt bits.
func (r RegisteredDelivery) Receipt() RegisteredDelivery { return r & RegDeliveryReceiptMask }

// DataCoding is the data_coding octet (§5.2.19). The values below are the
// ones SMPP 3.4 names; the bits of the GSM 03.38 coding groups (0xF0 and up,
// message classes) are smpp/coding's business.
type DataCoding uint8

const (
	CodingDefault   DataCoding = 0x00 // SMSC default alphabet, usually GSM 03.38
	CodingIA5       DataCoding = 0x01 // IA5 (CCITT T.50)/ASCII
	CodingBinary    DataCoding = 0x02 // octet unspecified (8-bit binary)
	CodingLatin1    DataCoding = 0x03 // ISO-8859-1
	CodingBinary8   DataCoding = 0x04 // octet unspecified (8-bit binary)
	CodingJIS       DataCoding = 0x05 // X 0208-1990
	CodingCyrillic  DataCoding = 0x06 // ISO-8859-5
	CodingHebrew    DataCoding = 0x07 // ISO-8859-8
	CodingUCS2      DataCoding = 0x08 // ISO/IEC-10646, sent as UTF-16BE
	CodingPictogram DataCoding = 0x09
	CodingISO2022JP DataCoding = 0x0A // music codes
	CodingExtKanji  DataCoding = 0x0D // extended Kanji JIS (X 0212-1990)
	CodingKSC5601   DataCoding = 0x0E
)

// MessageState is the message_state of query_sm_resp and of the
// message_state TLV (§5.2.28). 0 and 9 come from SMPP 5.0 but are sent by
// SMSCs that otherwise speak 3.4.
type MessageState uint8

const (
	StateScheduled     MessageState = 0 // 5.0
	StateEnroute       MessageState = 1
	StateDelivered     MessageState = 2
	StateExpired       MessageState = 3
	StateDeleted       MessageState = 4
	StateUndeliverable MessageState = 5
	StateAccepted      MessageState = 6
	StateUnknown       MessageState = 7
	StateRejected      MessageState = 8
	StateSkipped       MessageState = 9 // 5.0
)

var messageStateNames = [...]string{
	StateScheduled:     "SCHEDULED",
	StateEnroute:       "ENROUTE",
	StateDelivered:     "DELIVERED",
	StateExpired:       "EXPIRED",
	StateDeleted:       "DELETED",
	StateUndeliverable: "UNDELIVERABLE",
	StateAccepted:      "ACCEPTED",
	StateUnknown:       "UNKNOWN",
	StateRejected:      "REJECTED",
	StateSkipped:       "SKIPPED",
}

func (s MessageState) String() string {
	if int(s) < len(messageStateNames) {
		return messageStateNames[s]
	}
	return fmt.Sprintf("message_state(%d)", uint8(s))
}

// Final reports whether the state is final: delivered, expired, deleted,
// undeliverable, rejected, unknown or skipped. ENROUTE, ACCEPTED and
// SCHEDULED are not.
func (s MessageState) Final() bool {
	switch s {
	case StateDelivered, StateExpired, StateDeleted, StateUndeliverable, StateUnknown, StateRejected, StateSkipped:
		return true
	}
	return false
}

// NetworkErrorCode is the value of the network_error_code TLV (§5.3.2.31):
// which network reported the error, and its code there.
type NetworkErrorCode struct {
	Type NetworkType
	Code uint16
}

func (n NetworkErrorCode) String() string {
	return fmt.Sprintf("%s:%d", n.Type, n.Code)
}

// NetworkType is the first octet of network_error_code.
type NetworkType uint8

const (
	NetworkANSI136           NetworkType = 1 // ANSI-136 access denied reason
	NetworkIS95              NetworkType = 2 // IS-95 access denied reason
	NetworkGSM               NetworkType = 3
	NetworkANSI136Cause      NetworkType = 4
	NetworkIS95Cause         NetworkType = 5
	NetworkANSI41            NetworkType = 6
	NetworkSMPP              NetworkType = 7
	NetworkMessageCenterSpec NetworkType = 8
)

func (t NetworkType) String() string {
	switch t {
	case NetworkANSI136:
		return "ANSI-136"
	case NetworkIS95:
		return "IS-95"
	case NetworkGSM:
		return "GSM"
	case NetworkANSI136Cause:
		return "ANSI-136-cause"
	case NetworkIS95Cause:
		return "IS-95-cause"
	case NetworkANSI41:
		return "ANSI-41"
	case NetworkSMPP:
		return "SMPP"
	case NetworkMessageCenterSpec:
		return "MC-specific"
	}
	return fmt.Sprintf("network(%d)", uint8(t))
}

// DestFlag says which kind of dest_address a submit_multi entry is
// (§5.2.25).
type DestFlag uint8

const (
	DestSMEAddress       DestFlag = 1
	DestDistributionList DestFlag = 2
)
