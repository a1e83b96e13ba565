"""Helpers shared by the ruledex Panther sample rules."""


def okta_success(event):
    return event.deep_get("outcome", "result") == "SUCCESS"


def aws_success(event):
    return not (event.get("errorCode") or event.get("errorMessage"))


def okta_context(event):
    return {
        "actor": event.deep_get("actor", "alternateId", default="<unknown>"),
        "client_ip": event.deep_get("client", "ipAddress"),
        "event_type": event.get("eventType", ""),
        "target": event.get("target", []),
    }
