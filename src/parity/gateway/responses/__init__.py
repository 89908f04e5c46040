"""The Responses API front door: its wire (requests, answers) and its event stream."""
