// Runs inside the page: parse one card as Teams would (schema 1.5), collect every
// parse and validation event, and render it into #card for the screenshot.
"use strict";

(function () {
  const AC = window.AdaptiveCards;
  const markdown = window.markdownit({ html: false, linkify: false, breaks: true });

  // Teams renders a subset of markdown in TextBlocks; markdown-it (with raw HTML off)
  // stands in for it so screenshots show bold text and lists as Teams does.
  AC.AdaptiveCard.onProcessMarkdown = function (text, result) {
    result.outputHtml = markdown.render(text);
    result.didProcess = true;
  };

  function describe(event) {
    const source = event.source;
    let where = "";
    if (source && typeof source.getJsonTypeName === "function") {
      where = source.getJsonTypeName() + (source.id ? "#" + source.id : "");
    } else if (typeof source === "string") {
      where = source;
    }
    return {
      phase: AC.ValidationPhase[event.phase],
      event: AC.ValidationEvent[event.event],
      message: event.message,
      source: where,
    };
  }

  // Teams draws chart elements (Chart.Donut, Chart.VerticalBar.Grouped, ...) that this
  // renderer does not know. A client that cannot draw an element draws its `fallback`,
  // and so does this renderer: a chart that carries a fallback element is drawn from it
  // and reported under `fallbacks`, not as a warning. Anything else unknown, and a
  // chart without a fallback, still warns.
  const TEAMS_ONLY = /^Chart\./;

  function chartsWithFallback(value, found) {
    if (Array.isArray(value)) {
      value.forEach((item) => chartsWithFallback(item, found));
    } else if (value && typeof value === "object") {
      const type = value.type;
      const fallback = value.fallback;
      if (
        typeof type === "string" &&
        TEAMS_ONLY.test(type) &&
        !AC.GlobalRegistry.elements.findByName(type) &&
        fallback && typeof fallback === "object" && typeof fallback.type === "string"
      ) {
        found.push(type);
      }
      Object.values(value).forEach((item) => chartsWithFallback(item, found));
    }
    return found;
  }

  function setAsideFallbacks(events, charts) {
    const kept = [];
    const used = [];
    for (const event of events) {
      const index = charts.findIndex(
        (type) => event.event === "UnknownElementType" && event.message === AC.Strings.errors.unknownElementType(type),
      );
      if (index >= 0) {
        used.push(charts[index]);
        charts.splice(index, 1);
      } else {
        kept.push(event);
      }
    }
    return { kept, used };
  }

  window.renderCard = function (payload, hostConfig) {
    const card = new AC.AdaptiveCard();
    card.hostConfig = new AC.HostConfig(hostConfig);
    const context = new AC.SerializationContext(AC.Versions.v1_5);
    const events = [];
    try {
      card.parse(payload, context);
    } catch (error) {
      events.push({ phase: "Parse", event: "Exception", message: String(error), source: "" });
    }
    for (let i = 0; i < context.eventCount; i++) {
      events.push(describe(context.getEventAt(i)));
    }
    // The renderer knows 1.6; Teams stops at 1.5, so a newer card is an error here.
    if (card.version && card.version.compareTo(AC.Versions.v1_5) > 0) {
      events.push({
        phase: "Parse",
        event: "UnsupportedCardVersion",
        message: `version ${card.version.toString()} is newer than Teams renders (1.5)`,
        source: "AdaptiveCard",
      });
    }
    for (const event of card.validateProperties().validationEvents) {
      events.push(describe(event));
    }
    const { kept, used } = setAsideFallbacks(events, chartsWithFallback(payload, []));
    const host = document.getElementById("card");
    host.replaceChildren();
    const element = card.render();
    if (element) {
      host.appendChild(element);
    } else {
      kept.push({ phase: "Render", event: "NothingRendered", message: "card.render() returned nothing", source: "" });
    }
    const box = host.getBoundingClientRect();
    return { events: kept, fallbacks: used, width: box.width, height: box.height };
  };
})();
