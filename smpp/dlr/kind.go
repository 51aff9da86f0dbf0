package dlr

import "fmt"

// Kind is the message type a deliver_sm (or data_sm) announces in bits 5-2
// of its esm_class (SMPP 3.4 §5.2.12).
type Kind uint8

const (
	// KindMessage is message type 0: an ordinary (mobile originated)
	// message, not a receipt.
	KindMessage Kind = iota
	// KindSMSCReceipt is an SMSC delivery receipt (0x04).
	KindSMSCReceipt
	// KindSMEAck is an SME delivery acknowledgement (0x08): the receiving
	// application says the message arrived.
	KindSMEAck
	// KindUserAck is an SME manual/user acknowledgement (0x10): the
	// recipient answered the message.
	KindUserAck
	// KindIntermediate is an intermediate delivery notification (0x20): the
	// message is still on its way.
	KindIntermediate
	// KindReserved is any other value of the field: the conversation abort
	// of Korean CDMA (0x18) and the values SMPP 3.4 reserves.
	KindReserved
)

// typeMask selects the message type bits of esm_class. Bits 0-1 (messaging
// mode), 6 (UDHI) and 7 (reply path) vary independently, which is why a
// receipt must be recognised by mask and never by comparing the whole octet:
// SMSCs send 0x44 for a receipt with a user data header.
const typeMask = 0x3C

// KindOf reads the message type of an esm_class octet.
func KindOf(esmClass byte) Kind {
	switch esmClass & typeMask {
	case 0x00:
		return KindMessage
	case 0x04:
		return KindSMSCReceipt
	case 0x08:
		return KindSMEAck
	case 0x10:
		return KindUserAck
	case 0x20:
		return KindIntermediate
	}
	return KindReserved
}

// IsReceipt reports whether esm_class marks a delivery receipt or
// acknowledgement: an SMSC delivery receipt, an SME delivery or user
// acknowledgement, or an intermediate notification. Reserved types are not
// receipts.
func IsReceipt(esmClass byte) bool {
	switch KindOf(esmClass) {
	case KindSMSCReceipt, KindSMEAck, KindUserAck, KindIntermediate:
		return true
	}
	return false
}

var kindNames = [...]string{
	KindMessage:      "message",
	KindSMSCReceipt:  "smsc-receipt",
	KindSMEAck:       "sme-ack",
	KindUserAck:      "user-ack",
	KindIntermediate: "intermediate",
	KindReserved:     "reserved",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}
