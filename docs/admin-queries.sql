-- Admin questions answered in SQL (PostgreSQL). Each query runs as is; change the literal
-- values (dates, ids, names, search words) to ask your own question. Connect read-only:
-- see docs/admin.md. The views used here are described there and by \d+ <view> in psql.
--
-- Format, read by tests/admin and bench/admin_queries.py: each query starts with
-- "-- name: <slug>", then comment lines saying what it answers, then "-- selective: true"
-- when it touches few rows and must be answered from indexes, then the SQL, ending with ";".


-- name: alerts-about-cac-this-month
-- What did we alert on about the Cyberspace Administration of China (CAC) this month?
-- One row per alert and channel, newest first. Entities are canonical names from
-- config/lexicon/entities.yaml; `entities ? '...'` uses the GIN index.
-- selective: true
SELECT ad.alerted_at, ad.subscription, ad.channel, ad.delivery_status, ad.story_title,
       ad.article_title, ad.article_url, v.score
FROM alert_deliveries ad
JOIN latest_classifications v ON v.article_id = ad.article_id
WHERE v.entities ? 'Cyberspace Administration of China'
  AND ad.alerted_at >= date_trunc('month', now())
ORDER BY ad.alerted_at DESC;


-- name: feeds-failing-since-friday
-- Which feeds have been failing since Friday? Feeds whose current run of failed fetches
-- started on or after the latest Friday (00:00, session time zone), or that were disabled
-- since then, with the last error. Friday = today minus (ISO weekday + 2) mod 7 days.
-- selective: true
SELECT feed_id, title, url, active, failing_since, consecutive_failures, last_status_code,
       last_error, disabled_at, disabled_reason
FROM feed_health
WHERE failing_since >= current_date - (extract(isodow FROM current_date)::int + 2) % 7
   OR disabled_at >= current_date - (extract(isodow FROM current_date)::int + 2) % 7
ORDER BY coalesce(failing_since, disabled_at);


-- name: weekly-chinese-export-control-stories
-- How many Chinese-language stories on chips and export controls per week (last 12 weeks)?
-- Stories, not articles: a story carried by five Chinese outlets counts once.
-- selective: true
SELECT date_trunc('week', published_at) AS week,
       count(DISTINCT story_id) AS stories,
       count(*) AS articles
FROM relevant_articles
WHERE topics ? 'chips_and_export_controls'
  AND language LIKE 'zh%'
  AND published_at >= date_trunc('week', now()) - interval '12 weeks'
GROUP BY week
ORDER BY week;


-- name: why-did-this-article-not-alert
-- Why did article 4242 not alert (or alert only some subscriptions)? One row per
-- subscription: each rule of services/alerts/outbox.py (enabled, relevant, min_score,
-- topics, entities, languages, sources) and whether the story had already been alerted
-- through another article. "outcome" gives the first reason. The verdict shown is the
-- article's current one; if it was re-classified after ingestion, compare with the
-- classification history (next query). No rows: the article was never classified.
-- selective: true
SELECT s.id AS subscription_id, s.name AS subscription, s.enabled, a.relevant, a.score, s.min_score,
       a.topics, s.topics AS wanted_topics, a.entities, s.entities AS wanted_entities,
       a.language, s.languages AS wanted_languages,
       rule.score_ok, rule.topics_ok, rule.entities_ok, rule.language_ok, rule.source_ok,
       own.id AS alert_id, own.status AS alert_status,
       other.id AS story_alert_id, other.article_id AS story_alerted_by_article,
       CASE WHEN own.id IS NOT NULL THEN 'alerted'
            WHEN other.id IS NOT NULL THEN 'story already alerted through article ' || other.article_id
            WHEN NOT s.enabled THEN 'subscription disabled'
            WHEN NOT a.relevant THEN 'not relevant'
            WHEN NOT rule.score_ok THEN 'score ' || round(a.score::numeric, 3) || ' below min_score ' || s.min_score
            WHEN NOT rule.topics_ok THEN 'no wanted topic'
            WHEN NOT rule.entities_ok THEN 'no wanted entity'
            WHEN NOT rule.language_ok THEN 'language ' || coalesce(a.language, 'unknown') || ' not wanted'
            WHEN NOT rule.source_ok THEN 'source not wanted'
            ELSE 'matches now: the verdict changed after ingestion, or the subscription is newer'
       END AS outcome
FROM article_verdicts a
LEFT JOIN feeds f ON f.id = a.feed_id
CROSS JOIN subscriptions s
CROSS JOIN LATERAL (
    SELECT a.score >= s.min_score AS score_ok,
           jsonb_array_length(s.topics) = 0
               OR a.topics ?| ARRAY(SELECT jsonb_array_elements_text(s.topics)) AS topics_ok,
           jsonb_array_length(s.entities) = 0
               OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(s.entities) AS want,
                                        jsonb_array_elements_text(a.entities) AS got
                          WHERE lower(want) = lower(got)) AS entities_ok,
           jsonb_array_length(s.languages) = 0
               OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(s.languages) AS want
                          WHERE lower(coalesce(a.language, '')) = lower(want)
                             OR left(lower(coalesce(a.language, '')), length(want) + 1) = lower(want) || '-')
               AS language_ok,
           jsonb_array_length(s.sources) = 0
               OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(s.sources) AS want
                          WHERE want <> '' AND strpos(lower(concat_ws(' ', f.url, a.url)), lower(want)) > 0)
               AS source_ok
) AS rule
LEFT JOIN alerts own ON own.story_id = a.story_id AND own.subscription_id = s.id AND own.article_id = a.article_id
LEFT JOIN alerts other ON other.story_id = a.story_id AND other.subscription_id = s.id AND other.article_id <> a.article_id
WHERE a.article_id = 4242
ORDER BY s.id;


-- name: classification-history-of-an-article
-- Every verdict article 4242 received, oldest first, and which one is current: did a newer
-- classifier version change its mind?
-- selective: true
SELECT c.classifier_version, c.created_at, c.relevant, c.score, c.topics, c.entities, c.reasons,
       c.id = lc.classification_id AS current
FROM classifications c
LEFT JOIN latest_classifications lc ON lc.article_id = c.article_id
WHERE c.article_id = 4242
ORDER BY c.created_at, c.id;


-- name: top-entities-this-week
-- Which entities did relevant articles name most in the last 7 days? Counted in stories
-- (an event covered by ten outlets counts once), with articles and average score.
-- selective: true
SELECT entity, count(DISTINCT story_id) AS stories, count(*) AS articles,
       round(avg(score)::numeric, 2) AS avg_score
FROM article_entities
WHERE relevant AND published_at >= now() - interval '7 days'
GROUP BY entity
ORDER BY stories DESC, articles DESC
LIMIT 20;


-- name: noisiest-feeds-last-30-days
-- Which feeds brought the most articles in the last 30 days, and how many were relevant?
-- Candidates for pruning: many articles, few relevant. (Counts articles first seen in each feed.)
-- selective: true
SELECT feed_id, feed_title, count(*) AS articles,
       count(*) FILTER (WHERE relevant) AS relevant,
       round(100.0 * count(*) FILTER (WHERE relevant) / count(*), 1) AS relevant_pct
FROM article_verdicts
WHERE published_at >= now() - interval '30 days'
GROUP BY feed_id, feed_title
ORDER BY articles DESC
LIMIT 20;


-- name: stories-with-most-outlets-this-week
-- Which stories of the last 7 days did the most outlets carry? Duplicates per story:
-- article_count distinct articles, entry_count feed entries, outlet_count distinct feeds.
-- selective: true
SELECT story_id, title, first_seen_at, outlet_count, article_count, entry_count, outlets,
       languages, alert_count
FROM stories_with_outlets
WHERE first_seen_at >= now() - interval '7 days'
ORDER BY outlet_count DESC, article_count DESC
LIMIT 20;


-- name: delivery-failures-by-channel
-- Which channels failed to deliver alerts in the last 30 days, how often, and with which
-- error most often?
-- selective: true
SELECT channel, channel_kind, count(*) AS failed_deliveries, count(DISTINCT alert_id) AS alerts,
       max(alerted_at) AS latest_failure,
       mode() WITHIN GROUP (ORDER BY last_error) AS commonest_error
FROM alert_deliveries
WHERE delivery_status = 'failed' AND alerted_at >= now() - interval '30 days'
GROUP BY channel, channel_kind
ORDER BY failed_deliveries DESC;


-- name: alert-latency-by-channel
-- How long from publication, and from our first fetch, to the alert reaching each channel
-- (median and 95th percentile, last 30 days, sent deliveries)?
-- selective: true
SELECT channel, count(*) AS sent,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM published_to_sent)) / 60)::numeric, 1)
           AS published_to_sent_p50_min,
       round((percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM published_to_sent)) / 60)::numeric, 1)
           AS published_to_sent_p95_min,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fetched_to_sent))::numeric, 1)
           AS fetched_to_sent_p50_s,
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM fetched_to_sent))::numeric, 1)
           AS fetched_to_sent_p95_s
FROM alert_deliveries
WHERE delivery_status = 'sent' AND alerted_at >= now() - interval '30 days'
GROUP BY channel
ORDER BY channel;


-- name: stuck-deliveries
-- Which deliveries are still pending or being sent although they were due more than ten
-- minutes ago? (Workers down, a channel rate-limiting us.)
-- selective: true
SELECT delivery_id, alert_id, channel, delivery_status, attempts, last_error, next_attempt_at,
       alerted_at, subscription, story_title
FROM alert_deliveries
WHERE delivery_status IN ('pending', 'sending')
  AND next_attempt_at < now() - interval '10 minutes'
ORDER BY next_attempt_at;


-- name: alerts-per-subscription-this-month
-- How many stories did each subscription alert on this month, and how did delivery go?
-- selective: true
SELECT al.subscription_id, s.name AS subscription, count(*) AS alerts,
       count(*) FILTER (WHERE al.status = 'sent') AS sent,
       count(*) FILTER (WHERE al.status IN ('failed', 'partial')) AS failed_or_partial,
       count(*) FILTER (WHERE al.status = 'digested') AS digested,
       count(*) FILTER (WHERE al.status = 'pending') AS pending
FROM alerts al
JOIN subscriptions s ON s.id = al.subscription_id
WHERE al.created_at >= date_trunc('month', now())
GROUP BY al.subscription_id, s.name
ORDER BY alerts DESC;


-- name: daily-topic-counts-chinese-last-30-days
-- How many Chinese-language articles per day and topic over the last 30 days, and how
-- many of them relevant? (Days are UTC days.)
-- selective: true
SELECT day, topic, sum(articles) AS articles, sum(relevant_articles) AS relevant_articles,
       sum(relevant_stories) AS relevant_stories
FROM daily_topic_counts
WHERE day >= current_date - 30 AND language LIKE 'zh%'
GROUP BY day, topic
ORDER BY day, relevant_articles DESC;


-- name: relevant-share-by-language-per-month
-- Over the last year, how many articles per month and language, and what share was relevant?
-- A whole-year summary: reads every verdict, so expect tens of milliseconds, not one.
-- selective: false
SELECT date_trunc('month', published_at) AS month, language, count(*) AS articles,
       count(*) FILTER (WHERE relevant) AS relevant,
       round(100.0 * count(*) FILTER (WHERE relevant) / count(*), 1) AS relevant_pct
FROM article_verdicts
WHERE published_at >= date_trunc('month', now()) - interval '11 months'
GROUP BY month, language
ORDER BY month, language;


-- name: entity-and-topic-last-90-days
-- Which relevant articles of the last 90 days name Huawei Ascend and are about chips and
-- export controls? `@>` (contains) and `?` (has key) both use the GIN indexes.
-- selective: true
SELECT article_id, published_at, language, score, title, url, story_id
FROM relevant_articles
WHERE entities @> '["Huawei Ascend"]'
  AND topics ? 'chips_and_export_controls'
  AND published_at >= now() - interval '90 days'
ORDER BY published_at DESC
LIMIT 50;


-- name: search-english
-- Which articles mention export controls and Nvidia? English full-text search (stemmed;
-- websearch syntax: "quoted phrase", OR, -word), newest first, at most 50.
-- selective: true
SELECT * FROM search_articles('"export controls" Nvidia', 50);


-- name: search-chinese
-- Which articles mention 算力 (computing power)? Chinese terms are matched as substrings
-- through the bigram index, so two-character words work. Newest first, at most 50.
-- selective: true
SELECT * FROM search_articles('算力', 50);


-- name: search-chinese-and-english
-- Articles mentioning both 英伟达 (Nvidia) and H20: every part of the query must match,
-- Chinese by substring, Latin words by full-text search.
-- selective: true
SELECT * FROM search_articles('英伟达 H20', 50);


-- name: search-substring-trigram
-- Ad hoc substring search in any script with the trigram index (three characters or more):
-- which articles contain "Nvidia H20" (e.g. also inside "Nvidia H20-class")?
-- selective: true
SELECT id, published_at, language, title
FROM articles
WHERE article_text(title, summary) ILIKE '%Nvidia H20%'
ORDER BY published_at DESC
LIMIT 50;


-- name: fetch-errors-last-24-hours
-- What went wrong fetching feeds in the last 24 hours, by status and error?
-- selective: true
SELECT status_code, error, count(*) AS fetches, count(DISTINCT feed_id) AS feeds, max(started_at) AS latest
FROM fetch_log
WHERE started_at >= now() - interval '24 hours' AND error IS NOT NULL
GROUP BY status_code, error
ORDER BY fetches DESC;


-- name: disabled-feeds
-- Which feeds are disabled, since when, and why, and when did they last work?
-- selective: false
SELECT feed_id, title, url, disabled_at, disabled_reason, last_success_at, last_error
FROM feed_health
WHERE NOT active
ORDER BY disabled_at DESC;


-- name: labels-disagreeing-with-classifier
-- Where did readers' labels disagree with the current verdict? Material for `cnai train`
-- and for reviewing the lexicon.
-- selective: true
SELECT l.article_id, l.created_at AS labelled_at, l.relevant AS label, v.relevant AS verdict,
       v.score, v.classifier_version, v.title, v.reasons
FROM labels l
JOIN article_verdicts v ON v.article_id = l.article_id
WHERE l.relevant <> v.relevant
ORDER BY l.created_at DESC;
