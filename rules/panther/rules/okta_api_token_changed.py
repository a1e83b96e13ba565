from sample_helpers import okta_context, okta_success

TOKEN_EVENTS = ["system.api_token.create", "system.api_token.revoke"]


def rule(event):
    return okta_success(event) and event.get("eventType") in TOKEN_EVENTS


def title(event):
    return f"Okta API token change by [{event.udm('actor_user')}]"


def alert_context(event):
    return okta_context(event)
