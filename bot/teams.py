"""The Teams activity handler: the edge where Teams activities become calls.

It turns an activity into a platform-neutral `Actor` and text, hands it to
`dialogs`, and turns the `Reply` back into an activity. Nothing here knows the
audit programme's rules.
"""

from __future__ import annotations

import logging
from typing import Any

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount

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

        The answer is a plain JSON body, kept where botbuilder keeps an invoke response
        already sent (`answer`), which bot.adapter.TeamsAdapter writes out as it is.
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
            return answer(
                turn_context,
                400,
                ERROR_TYPE,
                {"code": "BadRequest", "message": "Only Action.Execute with a verb is supported."},
            )
        actor = actor_of(activity)
        await self._remember(turn_context, actor)
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        card = await self._conversations.on_card_action(actor, action["verb"], data)
        return answer(turn_context, 200, CARD_TYPE, card)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self._remember(turn_context, actor_of(turn_context.activity), installing=True)

    async def _remember(
        self, turn_context: TurnContext, actor: Actor, *, installing: bool = False
    ) -> None:
        if not actor.aad_object_id:
            return
        activity = turn_context.activity
        chat = (activity.conversation.id if activity.conversation else "", activity.service_url)
        if not installing and self._conversations.saved_lately(actor, chat):
            return  # most turns: nothing changed, so nothing to serialise or write
        reference = TurnContext.get_conversation_reference(activity)
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


CARD_TYPE = "application/vnd.microsoft.card.adaptive"
ERROR_TYPE = "application/vnd.microsoft.error"


def answer(turn_context: TurnContext, status: int, kind: str, value: Any) -> InvokeResponse:
    """The invoke's answer (an Adaptive Card invoke response), as JSON.

    It is kept where botbuilder keeps an invoke response already sent, so ActivityHandler
    does not send it again through TurnContext.send_activity, which deep-copies the whole
    activity, reply card and all; the adapter then writes the body without msrest's walk
    over every element of the card (bot.adapter.TeamsAdapter). Both were most of a card
    press's cost outside auditbot's own work (bench/wizard_step.py)."""
    response = InvokeResponse(
        status=status, body={"statusCode": status, "type": kind, "value": value}
    )
    turn_context.turn_state[TurnContext._INVOKE_RESPONSE_KEY] = Activity(
        type=ActivityTypes.invoke_response, value=response
    )
    return response


def to_activity(reply: Reply) -> Activity:
    if reply.card is not None:
        activity = MessageFactory.attachment(CardFactory.adaptive_card(reply.card))
        if reply.text:
            activity.text = reply.text
        return activity
    return MessageFactory.text(reply.text or "")
