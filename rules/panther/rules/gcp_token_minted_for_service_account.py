def rule(event):
    if event.deep_get("protoPayload", "methodName") != "GenerateAccessToken":
        return False
    principal = event.deep_get("protoPayload", "authenticationInfo", "principalEmail", default="")
    if principal.endswith(".iam.gserviceaccount.com"):
        return False
    for auth in event.deep_get("protoPayload", "authorizationInfo", default=[]):
        if auth.get("permission") == "iam.serviceAccounts.getAccessToken" and auth.get("granted"):
            return True
    return False
