"""HTTP routes per resource and their request and response Structs. No SQL in here."""
