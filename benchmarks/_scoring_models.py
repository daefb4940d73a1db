"""The three scoring models of the scoring benchmark, 20 rules each, as people would write them.

``lead_fit`` is a B2C lead score (who looks like the buyer persona and engages), ``engagement``
scores e-mail and app engagement with decaying points and model limits, ``purchase_intent``
scores carts, searches and checkout visits with a floor for open issues.  Together they use every
kind of rule the engine knows: explicit tests on fields, derived fields and third-party
attributes (``in``, ``between``, ``matches``, ``missing``, ``all``/``any``/``not``, numbers held
as text), and implicit rules on events and interactions with every ``repeat``, ``max_per_day``,
``max_times``, ``count`` windows, property and column filters, ``per`` a property, and decay by
half-life, window and percent; groups with caps and a floor; bands with hysteresis.
"""

from __future__ import annotations

LEAD_FIT = """\
name: lead_fit
description: B2C lead score for the toy shop; buyer persona parents in the central valley.
decay:
  half_life_days: 90
groups:
  demographics:
    max: 25
  engagement:
    max: 60
bands:
  - name: cold
    max: 20
  - name: warm
    min: 20
    max: 50
  - name: hot
    min: 50
hysteresis: 5
rules:
  - name: central_valley
    description: lives in the central valley (sign-up data)
    group: demographics
    points: 10
    when:
      field: region
      in: [San José, Heredia, Alajuela]
  - name: far_province
    points: -5
    when:
      field: region
      in: [Limón, Guanacaste]
  - name: competitor_email
    description: works for a competitor
    points: -30
    when:
      field: email_domain
      in: [rivaltoys.com, competitor.io, toyworld.example]
  - name: personal_email
    points: 2
    when:
      field: email_domain
      matches: "(?i)^(gmail|yahoo|hotmail|outlook)\\\\."
  - name: parent_age
    group: demographics
    points: 8
    when:
      field: age
      between: [28, 45]
  - name: too_young
    points: -5
    when:
      field: age
      below: 21
  - name: persona_interests
    group: demographics
    points: 10
    when:
      attribute: interests
      matches: "(?i)toys|parenting|kids"
  - name: high_income
    group: demographics
    points: 6
    when:
      attribute: income_band
      in: [high, very_high]
  - name: no_email
    points: -10
    when:
      field: email
      missing: true
  - name: unknown_birth_date
    points: -2
    when:
      field: birth_date
      missing: true
  - name: landing_pages
    description: each landing-page visit, at most two a day
    group: engagement
    points: 3
    activity:
      type: page_view
      where:
        - property: page
          matches: "^/landing/"
    max_per_day: 2
  - name: product_pages
    description: each product looked at, once
    group: engagement
    points: 1
    activity:
      type: page_view
      where:
        - property: page
          matches: "^/p/"
    repeat: per_object
  - name: email_opens
    group: engagement
    points: 1
    activity:
      type: email_open
    repeat: per_day
  - name: email_clicks
    description: the ten newest clicks
    group: engagement
    points: 3
    activity:
      type: email_click
    max_times: 10
  - name: forms
    description: each form sent, once per form
    points: 15
    activity:
      type: form_submit
    repeat: per_object
  - name: busy_week
    description: at least 2 page views in the last 7 days
    points: 10
    activity:
      type: page_view
    count:
      at_least: 2
      within_days: 7
  - name: app_days
    points: 2
    activity:
      type: app_session
    repeat: per_day
    decay:
      window_days: 30
  - name: mobile_visitor
    points: 2
    activity:
      type: page_view
      where:
        - property: device
          equals: mobile
    repeat: once
  - name: open_complaint
    points: -20
    activity:
      table: interactions
      type: complaint
      where:
        - column: status
          equals: open
    repeat: once
    decay: none
  - name: accepted_offers
    points: 10
    activity:
      table: interactions
      type: response
      where:
        - column: outcome
          equals: accepted
    repeat: per_object
"""

ENGAGEMENT = """\
name: engagement
description: E-mail and app engagement; points lose 10% a month.
decay:
  percent: 10
  every_days: 30
maximum: 100
minimum: -20
groups:
  email:
    max: 50
bands:
  - name: dormant
    max: 10
  - name: engaged
    min: 10
    max: 40
  - name: champion
    min: 40
hysteresis: 3
rules:
  - name: home_market
    points: 2
    when:
      field: country
      equals: CR
  - name: foreign
    points: -3
    when:
      field: country
      not_in: [CR, PA]
  - name: large_household
    points: 4
    when:
      attribute: household_size
      at_least: 3
  - name: has_children
    points: 5
    when:
      attribute: has_children
      equals: true
  - name: new_customer
    points: 5
    when:
      field: days_since_signup
      below: 90
  - name: loyal_customer
    points: 3
    when:
      field: days_since_signup
      above: 730
  - name: no_email_domain
    points: -5
    when:
      field: email_domain
      missing: true
  - name: capital_adult
    points: 3
    when:
      all:
        - field: age
          at_least: 30
        - field: region
          equals: San José
  - name: opens
    group: email
    points: 2
    activity:
      type: email_open
    max_per_day: 3
    decay:
      half_life_days: 14
  - name: clicks
    group: email
    points: 5
    activity:
      type: email_click
    decay:
      half_life_days: 30
  - name: campaigns_clicked
    description: once per campaign clicked
    group: email
    points: 4
    activity:
      type: email_click
    repeat: per_object
    per: properties.campaign
  - name: regular_reader
    points: 10
    activity:
      type: email_open
    count:
      at_least: 3
      within_days: 30
  - name: newsletter_visits
    points: 3
    activity:
      type: page_view
      where:
        - property: utm
          equals: newsletter
    max_per_day: 1
  - name: app_use
    points: 1
    activity:
      type: app_session
    max_per_day: 2
    decay:
      window_days: 60
  - name: searches
    points: 1
    activity:
      type: search
    repeat: per_day
    decay:
      half_life_days: 7
  - name: signed_up_form
    points: 8
    activity:
      type: form_submit
    repeat: once
    decay: none
  - name: open_complaint
    points: -15
    activity:
      table: interactions
      type: complaint
      where:
        - column: status
          equals: open
    repeat: once
    decay: none
  - name: past_complaints
    points: -3
    activity:
      table: interactions
      type: complaint
      where:
        - column: status
          equals: closed
    decay:
      half_life_days: 180
  - name: calls_and_visits
    points: 2
    activity:
      table: interactions
      type: [call, visit]
    decay:
      percent: 20
      every_days: 60
  - name: offers_received
    points: 1
    activity:
      table: interactions
      type: offer
    repeat: per_object
"""

PURCHASE_INTENT = """\
name: purchase_intent
description: Who is about to buy; carts and checkout visits weigh most, open issues hold back.
decay:
  half_life_days: 30
groups:
  carts:
    max: 40
  browse:
    max: 30
  issues:
    min: -30
bands:
  - name: low
    max: 15
  - name: medium
    min: 15
    max: 35
  - name: high
    min: 35
    max: 60
  - name: ready
    min: 60
hysteresis: 5
rules:
  - name: cart_adds
    group: carts
    points: 5
    activity:
      type: cart_add
    max_per_day: 3
  - name: pricey_products
    description: each product over 50 put in the cart
    group: carts
    points: 3
    activity:
      type: cart_add
      where:
        - property: price
          at_least: 50
    repeat: per_object
  - name: abandoned_cart
    group: carts
    points: 10
    activity:
      type: cart_abandon
    repeat: once
    decay:
      window_days: 14
  - name: filling_carts
    points: 15
    activity:
      type: cart_add
    count:
      at_least: 3
      within_days: 14
  - name: searches
    group: browse
    points: 1
    activity:
      type: search
    max_per_day: 5
  - name: toy_searches
    group: browse
    points: 2
    activity:
      type: search
      where:
        - property: query
          matches: "(?i)lego|doll|puzzle"
    repeat: per_day
  - name: products_seen
    group: browse
    points: 1
    activity:
      type: page_view
      where:
        - property: page
          matches: "^/p/"
    repeat: per_object
  - name: checkout_visit
    points: 20
    activity:
      type: page_view
      where:
        - property: page
          equals: /checkout
    repeat: once
    decay:
      window_days: 7
  - name: desktop_browsing
    points: 5
    activity:
      type: page_view
      where:
        - property: device
          equals: desktop
    count:
      at_least: 5
      within_days: 30
  - name: app_days
    points: 2
    activity:
      type: app_session
    repeat: per_day
    decay:
      percent: 25
      every_days: 7
  - name: promo_clicks
    points: 4
    activity:
      type: email_click
      where:
        - property: campaign
          matches: "^promo-"
  - name: open_complaint
    group: issues
    points: -25
    activity:
      table: interactions
      type: complaint
      where:
        - column: status
          equals: open
    repeat: once
    decay: none
  - name: open_incident
    group: issues
    points: -10
    activity:
      table: interactions
      type: incident
      where:
        - column: status
          equals: open
    repeat: once
    decay: none
  - name: returns
    group: issues
    points: -5
    activity:
      table: interactions
      type: return
    decay:
      half_life_days: 60
  - name: very_high_income
    points: 8
    when:
      attribute: income_band
      equals: very_high
  - name: unknown_interests
    points: -3
    when:
      attribute: interests
      missing: true
  - name: buying_age
    points: 4
    when:
      field: age
      between: [25, 50]
  - name: outside_home_market
    points: -2
    when:
      not:
        field: country
        equals: CR
  - name: competitor
    points: -40
    when:
      field: email_domain
      in: [rivaltoys.com, competitor.io, toyworld.example]
  - name: likely_parent
    points: 6
    when:
      any:
        - attribute: interests
          matches: "(?i)toys"
        - attribute: has_children
          equals: true
"""

MODELS: tuple[str, ...] = (LEAD_FIT, ENGAGEMENT, PURCHASE_INTENT)
