"""The IHE PAM mock (HL7 v2.5, French extension) over MLLP: an identity consumer that checks a product's
ADT feeds (ITI-30) and an identity source that sends the world's patients to a product (docs/pam.md)."""
