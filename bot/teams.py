"""The Teams activity handler: the edge where Teams activities become calls.

It turns an activity into a platform-neutral `Actor` and text, hands it to
`dialogs`, and turns the `Reply` back into an activity. Nothing here knows the
audit programme's rules.
"""

from __future__ import annotations

import logging

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse, ChannelAccount

from dialogs.conversation import Actor, Conversations, Reply

log = logging.getLogger(__name__)


class AuditBot(TeamsActivityHandler):
    def __init__(self, conversations: Conversations) -> None:
        self._conversations = conversations

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        actor = actor_of(turn_context.activity)
        await self._remember(turn_context, actor)
        reply = await self._conversations.on_message(actor, turn_context.activity.text or "")
        await turn_context.send_activity(to_activity(reply))

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        """Greet once when the bot joins a personal chat or the user joins it."""
        activity = turn_context.activity
        if (activity.conversation.conversation_type or "personal") != "personal":
            return
        if not members_added:
            return
        actor = actor_of(activity)
        await self._remember(turn_context, actor, installing=True)
        reply = await self._conversations.welcome(actor)
        await turn_context.send_activity(to_activity(reply))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """Card buttons (Action.Execute) answer with the card that replaces the pressed one.

        The response body stays an AdaptiveCardInvokeResponse model: botbuilder
        4.17's default path serialises it twice and the request fails.
        """
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action")
        if (
            not isinstance(action, dict)
            or action.get("type") != "Action.Execute"
            or not isinstance(action.get("verb"), str)
            or not action["verb"]
        ):
            return _invoke_error(400, "BadRequest", "Only Action.Execute with a verb is supported.")
        actor = actor_of(activity)
        await self._remember(turn_context, actor)
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        card = await self._conversations.on_card_action(actor, action["verb"], data)
        body = AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=card
        )
        return InvokeResponse(status=200, body=body)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self._remember(turn_context, actor_of(turn_context.activity), installing=True)

    async def _remember(
        self, turn_context: TurnContext, actor: Actor, *, installing: bool = False
    ) -> None:
        if not actor.aad_object_id:
            return
        reference = TurnContext.get_conversation_reference(turn_context.activity)
        await self._conversations.remember(actor, reference.serialize(), installing=installing)


def actor_of(activity: Activity) -> Actor:
    """Who is talking, by Azure AD object id (the only identity we trust)."""
    sender = activity.from_property or ChannelAccount()
    tenant_id = None
    if activity.conversation is not None:
        tenant_id = activity.conversation.tenant_id
    if not tenant_id and isinstance(activity.channel_data, dict):
        tenant_id = (activity.channel_data.get("tenant") or {}).get("id")
    return Actor(
        aad_object_id=sender.aad_object_id,
        tenant_id=tenant_id,
        display_name=sender.name or "",
    )


def _invoke_error(status: int, code: str, message: str) -> InvokeResponse:
    body = AdaptiveCardInvokeResponse(
        status_code=status,
        type="application/vnd.microsoft.error",
        value={"code": code, "message": message},
    )
    return InvokeResponse(status=status, body=body)


def to_activity(reply: Reply) -> Activity:
    if reply.card is not None:
        activity = MessageFactory.attachment(CardFactory.adaptive_card(reply.card))
        if reply.text:
            activity.text = reply.text
        return activity
    return MessageFactory.text(reply.text or "")
