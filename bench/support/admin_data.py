"""A year of monitor data, generated inside PostgreSQL for the admin-query test and benchmark.

Everything is ``INSERT ... SELECT generate_series`` run by the server (no ORM rows), so
100,000 articles with their feeds, feed entries, stories, classifications, alerts,
deliveries and fetch log load in well under a minute. The mix is meant to look like the
real thing: English and Chinese feeds (some noisy, some failing, some disabled), stories
carried by several outlets, about one article in six relevant, topics and entities from
the real taxonomy and catalogue, a fifth of the articles re-classified by a newer
classifier version, alerts made by the same rules as ``services.alerts.outbox``, and
deliveries that mostly succeed. The year ends at the moment of loading, so "this week"
and "since Friday" find data. ``random()`` is seeded: the same call gives the same data.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, text

# (canonical name as the classifier reports it, how Chinese text names it)
ENTITIES = [
    ("DeepSeek", "深度求索"),
    ("Huawei", "华为"),
    ("Alibaba", "阿里巴巴"),
    ("Baidu", "百度"),
    ("Nvidia H20", "英伟达H20"),
    ("Moonshot AI", "月之暗面"),
    ("Zhipu AI", "智谱"),
    ("Tencent", "腾讯"),
    ("ByteDance", "字节跳动"),
    ("SMIC", "中芯国际"),
    ("Huawei Ascend", "昇腾"),
    ("Qwen", "通义千问"),
    ("Cyberspace Administration of China", "国家网信办"),
    ("MIIT", "工信部"),
    ("MiniMax", "MiniMax"),
    ("Cambricon", "寒武纪"),
    ("NDRC", "国家发改委"),
    ("MOFCOM", "商务部"),
    ("State Council", "国务院"),
    ("iFlytek", "科大讯飞"),
    ("SenseTime", "商汤科技"),
    ("Kimi", "Kimi"),
    ("TC260", "信安标委"),
    ("Tsinghua University", "清华大学"),
]
# (topic id from the taxonomy, English phrase, Chinese phrase)
TOPICS = [
    ("chips_and_export_controls", "new export controls on advanced AI chips", "芯片出口管制升级"),
    ("regulation", "draft rules for generative AI services", "生成式人工智能监管新规"),
    ("model_releases", "an open-weight large language model", "发布开源大模型"),
    ("compute_and_infrastructure", "a national computing power network", "全国一体化算力网络建设"),
    ("industry_and_investment", "a funding round led by state investors", "完成新一轮融资"),
    ("security_and_content_control", "content security checks on chatbots", "生成内容安全审查"),
    ("international_governance", "global AI governance talks", "全球人工智能治理对话"),
    ("research_and_talent", "a breakthrough in reasoning research", "推理研究取得突破"),
    ("funding_and_subsidies", "compute vouchers and subsidies for start-ups", "算力券与产业补贴"),
    ("standards", "draft national AI standards", "人工智能国家标准草案"),
]
VERBS_EN = ["announces", "responds to", "faces", "welcomes", "prepares for", "criticises"]
VERBS_ZH = ["宣布", "回应", "面临", "推动", "关注", "部署"]
OFF_BEAT_EN = [
    "Quarterly earnings beat expectations as cloud sales grow",
    "Smartphone shipments rise for a third quarter",
    "Electric carmakers cut prices again",
    "City council approves new cycling lanes",
    "Streaming service raises subscription fees",
    "Retailer opens flagship store downtown",
]
OFF_BEAT_ZH = [
    "新能源汽车销量持续增长",
    "楼市成交回暖",
    "旅游市场明显升温",
    "快递业务量创新高",
    "手机出货量回升",
    "电商平台促销开启",
]
FILLER_EN = [
    "Officials said details would follow in the coming weeks.",
    "Analysts expect the move to reshape the domestic market.",
    "The company declined to comment on the report.",
    "Industry groups have asked for a longer consultation period.",
]
FILLER_ZH = [
    "业内人士表示，相关细则将在未来几周公布。",
    "分析人士认为此举将重塑国内市场格局。",
    "公司未对此置评。",
    "行业协会呼吁延长征求意见期。",
]
OUTLETS_EN = [
    "Reuters Tech",
    "SCMP Tech",
    "Nikkei Asia",
    "TechCrunch",
    "The Information",
    "Bloomberg Tech",
    "MIT Technology Review",
    "Rest of World",
    "ChinaTalk",
    "Sixth Tone",
    "Caixin Global",
    "The Register",
]
OUTLETS_ZH = ["机器之心", "量子位", "36氪", "新智元", "财新", "澎湃新闻", "界面新闻", "第一财经", "雷锋网", "钛媒体"]
OUTLETS_ZH_HANT = ["數位時代", "iThome", "科技新報", "中央社科技"]

STATEMENTS = [
    "SELECT setseed(:seed)",
    # --- channels and subscriptions -------------------------------------------------------
    """
    INSERT INTO channels (id, name, kind, target, created_at) VALUES
        (1, 'console', 'console', 'stdout', now() - interval '400 days'),
        (2, 'slack-policy', 'slack', 'env:SLACK_POLICY_WEBHOOK_URL', now() - interval '400 days'),
        (3, 'email-desk', 'email', 'env:ALERT_EMAIL_TO', now() - interval '400 days'),
        (4, 'slack-chips', 'slack', 'env:SLACK_CHIPS_WEBHOOK_URL', now() - interval '300 days')
    """,
    """
    INSERT INTO subscriptions (id, name, min_score, topics, entities, languages, sources, mode,
                               digest_schedule, digest_time, timezone, enabled, created_at) VALUES
        (1, 'default', 0.5, '[]', '[]', '[]', '[]', 'instant', NULL, NULL, 'UTC', true, now() - interval '400 days'),
        (2, 'export-controls-desk', 0.6, '["chips_and_export_controls"]', '[]', '[]', '[]', 'instant',
            NULL, NULL, 'UTC', true, now() - interval '400 days'),
        (3, 'zh-regulation', 0.55, '["regulation", "security_and_content_control"]', '[]', '["zh"]', '[]',
            'instant', NULL, NULL, 'Asia/Shanghai', true, now() - interval '400 days'),
        (4, 'cac-watch', 0.5, '[]', '["Cyberspace Administration of China"]', '[]', '[]', 'instant',
            NULL, NULL, 'UTC', true, now() - interval '350 days'),
        (5, 'morning-digest', 0.8, '[]', '[]', '[]', '[]', 'digest', 'daily', '08:00', 'Asia/Shanghai', true,
            now() - interval '400 days'),
        (6, 'compute-paused', 0.5, '["compute_and_infrastructure"]', '[]', '[]', '[]', 'instant',
            NULL, NULL, 'UTC', false, now() - interval '200 days')
    """,
    """
    INSERT INTO subscription_channels (subscription_id, channel_id) VALUES
        (1, 1), (1, 2), (2, 4), (2, 3), (3, 2), (4, 2), (4, 3), (5, 3), (6, 1)
    """,
    # --- feeds: 60 % English, 35 % Simplified, 5 % Traditional Chinese ----------------------
    """
    INSERT INTO feeds (id, url, title, site_url, language, folder, poll_interval_s, next_poll_at,
                       consecutive_failures, disabled_at, disabled_reason, created_at)
    SELECT g,
           'https://feeds.outlet-' || g || '.test/rss',
           CASE lang WHEN 'en' THEN (CAST(:outlets_en AS text[]))[1 + g % cardinality(CAST(:outlets_en AS text[]))]
                     WHEN 'zh-Hans' THEN (CAST(:outlets_zh AS text[]))[1 + g % cardinality(CAST(:outlets_zh AS text[]))]
                     ELSE (CAST(:outlets_zh_hant AS text[]))[1 + g % cardinality(CAST(:outlets_zh_hant AS text[]))] END
               || ' · ' || (ARRAY['AI', 'Policy', 'Chips', 'Markets', 'China', 'Tech'])[1 + g % 6] || ' ' || g,
           'https://outlet-' || g || '.test/',
           lang,
           (ARRAY['china-ai', 'policy', 'chips', 'general-tech'])[1 + g % 4],
           (4 + g % 7) * 3600,
           now(),
           0,
           CASE WHEN g % 50 = 7 THEN now() - (g % 30) * interval '1 day' - interval '3 hours' END,
           CASE WHEN g % 50 = 7 THEN (ARRAY[
               'HTTP 410 Gone: the publisher removed the feed',
               '10 failures in a row; last: HTTP 404 Not Found',
               'operator: paywalled, summaries empty'])[1 + g % 3] END,
           now() - interval '400 days'
    FROM (
        SELECT g, CASE WHEN g % 20 < 12 THEN 'en' WHEN g % 20 < 19 THEN 'zh-Hans' ELSE 'zh-Hant' END AS lang
        FROM generate_series(1, :feeds) AS g
    ) AS f
    """,
    # --- the articles' random draws, kept for the tables built from them ---------------------
    """
    CREATE TEMP TABLE gen_article ON COMMIT DROP AS
    SELECT d.*,
           CASE WHEN random() < 0.95 THEN f.language
                WHEN f.language = 'en' THEN 'zh-Hans' ELSE 'en' END AS language,
           least(now() - interval '1 minute',
                 now() - interval '365 days' + (d.i - 1) * interval '365 days' / :articles
                       + random() * interval '40 minutes') AS published_at
    FROM (
        SELECT i,
               1 + floor(:feeds * power(random(), 1.7))::int AS feed_id,
               random() < 0.17 AS relevant,
               1 + floor(cardinality(CAST(:entity_names AS text[])) * power(random(), 1.25))::int AS e1,
               1 + floor(random() * cardinality(CAST(:entity_names AS text[])))::int AS e2,
               random() < 0.4 AS two_entities,
               1 + floor(cardinality(CAST(:topic_ids AS text[])) * power(random(), 1.15))::int AS t1,
               1 + floor(random() * (cardinality(CAST(:topic_ids AS text[])) - 1))::int AS t2_step,
               random() < 0.35 AS two_topics,
               floor(random() * 6)::int AS v,
               CASE WHEN random() < 0.06 THEN 1 + i / 400
                    ELSE 1000000 + floor(i * 0.62)::int END AS story_key,
               random() < 0.3 AS syndicated,
               random() AS r
        FROM generate_series(1, :articles) AS i
    ) AS d
    JOIN feeds f ON f.id = d.feed_id
    """,
    """
    ALTER TABLE gen_article ADD COLUMN fetched_at timestamptz, ADD COLUMN story_id integer
    """,
    """
    UPDATE gen_article g
    SET fetched_at = least(now(), g.published_at + interval '2 minutes' + g.r * interval '90 minutes'),
        story_id = s.story_id
    FROM (SELECT story_key, row_number() OVER (ORDER BY min(i)) AS story_id FROM gen_article GROUP BY story_key) AS s
    WHERE s.story_key = g.story_key
    """,
    # --- stories and articles -----------------------------------------------------------------
    """
    INSERT INTO stories (id, title, simhash, first_seen_at, last_seen_at, article_count)
    SELECT story_id, 'story ' || story_id, (random() * 9.2e18 - 4.6e18)::bigint,
           min(fetched_at), max(fetched_at), count(*)
    FROM gen_article GROUP BY story_id
    """,
    """
    INSERT INTO articles (id, feed_id, story_id, guid, url, canonical_url, fingerprint, simhash, title, summary,
                          summary_html, author, language, published_at, fetched_at)
    SELECT i, feed_id, story_id,
           'https://outlet-' || feed_id || '.test/news/' || i,
           'https://outlet-' || feed_id || '.test/news/' || i || '?utm_source=rss',
           'https://outlet-' || feed_id || '.test/news/' || i,
           encode(sha256(convert_to('article ' || i, 'UTF8')), 'hex'),
           (random() * 9.2e18 - 4.6e18)::bigint,
           title, summary, '<p>' || summary || '</p>',
           CASE WHEN i % 3 = 0 THEN 'Staff reporter' END,
           language, published_at, fetched_at
    FROM (
        SELECT g.*,
               CASE WHEN g.language = 'en' THEN
                        CASE WHEN g.relevant OR g.r < 0.25 THEN
                                 (CAST(:entity_names AS text[]))[g.e1] || ' ' || (CAST(:verbs_en AS text[]))[1 + g.v] || ' ' || (CAST(:topic_en AS text[]))[g.t1]
                             ELSE (CAST(:off_beat_en AS text[]))[1 + g.v] END
                    ELSE
                        CASE WHEN g.relevant OR g.r < 0.25 THEN
                                 (CAST(:entity_zh AS text[]))[g.e1] || (CAST(:verbs_zh AS text[]))[1 + g.v] || (CAST(:topic_zh AS text[]))[g.t1]
                             ELSE (CAST(:off_beat_zh AS text[]))[1 + g.v] END
               END AS title,
               CASE WHEN g.language = 'en' THEN
                        CASE WHEN g.relevant THEN (CAST(:entity_names AS text[]))[g.e2] || ' and ' || (CAST(:entity_names AS text[]))[g.e1]
                                 || ' are watching ' || (CAST(:topic_en AS text[]))[1 + (g.t1 + g.t2_step - 1) % 10] || '. '
                             ELSE '' END
                        || (CAST(:filler_en AS text[]))[1 + g.i % 4] || ' Report number ' || g.i || '.'
                    ELSE
                        CASE WHEN g.relevant THEN (CAST(:entity_zh AS text[]))[g.e2] || '与' || (CAST(:entity_zh AS text[]))[g.e1] || '关注'
                                 || (CAST(:topic_zh AS text[]))[1 + (g.t1 + g.t2_step - 1) % 10] || '。'
                             ELSE '' END
                        || (CAST(:filler_zh AS text[]))[1 + g.i % 4] || '第' || g.i || '号报道。'
               END AS summary
        FROM gen_article g
    ) AS a
    """,
    """
    UPDATE stories s SET title = a.title
    FROM (SELECT DISTINCT ON (story_id) story_id, title FROM articles ORDER BY story_id, fetched_at, id) AS a
    WHERE a.story_id = s.id
    """,
    # --- feed entries: every article in its feed, 30 % syndicated to a second feed -------------
    """
    INSERT INTO feed_entries (feed_id, entry_key, article_id, first_seen_at)
    SELECT feed_id, 'https://outlet-' || feed_id || '.test/news/' || i, i, fetched_at FROM gen_article
    UNION ALL
    SELECT 1 + (feed_id + i % 7) % :feeds, 'https://outlet-' || feed_id || '.test/news/' || i, i,
           least(now(), fetched_at + interval '5 minutes' + r * interval '2 hours')
    FROM gen_article WHERE syndicated
    """,
    # --- classifications: v1 at ingestion; the older fifth re-classified by v2 -----------------
    """
    INSERT INTO classifications (article_id, classifier_version, relevant, score, topics, entities, reasons, created_at)
    SELECT i, 'lexicon-2025.1', relevant,
           round(CAST(CASE WHEN relevant THEN 0.5 + 0.5 * random() ELSE 0.5 * random() END AS numeric), 3),
           CASE WHEN relevant AND two_topics THEN jsonb_build_array(t1_id, t2_id)
                WHEN relevant OR r < 0.25 THEN jsonb_build_array(t1_id)
                ELSE '[]'::jsonb END,
           CASE WHEN relevant AND two_entities AND e1 <> e2 THEN jsonb_build_array(e1_name, e2_name)
                WHEN relevant OR r < 0.25 THEN jsonb_build_array(e1_name)
                ELSE '[]'::jsonb END,
           CASE WHEN relevant OR r < 0.25 THEN
                    jsonb_build_array('entity ' || e1_name || ' (+0.40)', 'topic ' || t1_id || ' (+0.20)')
                ELSE jsonb_build_array('no China AI entity (-0.30)') END,
           fetched_at + interval '2 seconds'
    FROM (
        SELECT g.*, (CAST(:entity_names AS text[]))[e1] AS e1_name, (CAST(:entity_names AS text[]))[e2] AS e2_name,
               (CAST(:topic_ids AS text[]))[t1] AS t1_id, (CAST(:topic_ids AS text[]))[1 + (t1 + t2_step - 1) % 10] AS t2_id
        FROM gen_article g
    ) AS c
    """,
    """
    INSERT INTO classifications (article_id, classifier_version, relevant, score, topics, entities, reasons, created_at)
    SELECT c.article_id, 'lexicon-2025.2',
           CASE WHEN random() < 0.06 THEN NOT c.relevant ELSE c.relevant END,
           least(1.0, greatest(0.0, c.score + round(CAST(random() * 0.2 - 0.1 AS numeric), 3))),
           c.topics, c.entities, c.reasons || jsonb_build_array('re-classified by lexicon-2025.2'),
           least(now(), c.created_at + interval '20 days')
    FROM classifications c
    WHERE c.article_id <= :articles / 5
    """,
    """
    UPDATE classifications SET score = 0.5 + score / 2, reasons = reasons || '["flipped to relevant"]'
    WHERE classifier_version = 'lexicon-2025.2' AND relevant AND score < 0.5
    """,
    """
    UPDATE classifications SET score = score / 2, reasons = reasons || '["flipped to irrelevant"]'
    WHERE classifier_version = 'lexicon-2025.2' AND NOT relevant AND score >= 0.5
    """,
    # --- alerts: the outbox's rules, applied to the verdict made at ingestion ------------------
    """
    INSERT INTO alerts (story_id, article_id, subscription_id, status, created_at)
    SELECT DISTINCT ON (a.story_id, s.id) a.story_id, a.id, s.id, 'pending', c.created_at + interval '1 second'
    FROM articles a
    JOIN classifications c ON c.article_id = a.id AND c.classifier_version = 'lexicon-2025.1'
    LEFT JOIN feeds f ON f.id = a.feed_id
    JOIN subscriptions s ON s.enabled AND c.relevant AND c.score >= s.min_score
    WHERE (jsonb_array_length(s.topics) = 0
           OR c.topics ?| ARRAY(SELECT jsonb_array_elements_text(s.topics)))
      AND (jsonb_array_length(s.entities) = 0
           OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(s.entities) se, jsonb_array_elements_text(c.entities) ce
                      WHERE lower(se) = lower(ce)))
      AND (jsonb_array_length(s.languages) = 0
           OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(s.languages) l
                      WHERE lower(coalesce(a.language, '')) = lower(l)
                         OR left(lower(coalesce(a.language, '')), length(l) + 1) = lower(l) || '-'))
      AND (jsonb_array_length(s.sources) = 0
           OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(s.sources) src
                      WHERE src <> ''
                        AND strpos(lower(concat_ws(' ', f.url, a.url)), lower(src)) > 0))
    ORDER BY a.story_id, s.id, a.fetched_at, a.id
    """,
    """
    INSERT INTO deliveries (alert_id, channel_id, status, attempts, last_error, next_attempt_at, sent_at, message_ref)
    SELECT alert_id, channel_id, status,
           CASE status WHEN 'failed' THEN 5 WHEN 'pending' THEN 0 WHEN 'digested' THEN 1
                       ELSE CASE WHEN r < 0.03 THEN 3 ELSE 1 END END,
           CASE WHEN status = 'failed' THEN
                CASE kind WHEN 'email' THEN (ARRAY['SMTP 421 4.7.0 Try again later',
                                                   'SMTP 550 5.1.1 mailbox unavailable'])[1 + (alert_id % 2)]
                          ELSE (ARRAY['HTTP 500 from Slack webhook', 'HTTP 429 Too Many Requests',
                                      'timeout after 10 s'])[1 + (alert_id % 3)] END END,
           created_at,
           CASE WHEN status = 'sent' THEN created_at + interval '2 seconds' + r * interval '40 seconds'
                                          + CASE WHEN r < 0.03 THEN interval '6 minutes' ELSE interval '0' END
                WHEN status = 'digested' THEN created_at + r * interval '24 hours' END,
           CASE WHEN status IN ('sent', 'digested') THEN
                CASE kind WHEN 'email' THEN '<alert-' || alert_id || '@cnai.test>' ELSE 'ts-' || alert_id END END
    FROM (
        SELECT al.id AS alert_id, sc.channel_id, ch.kind, al.created_at, random() AS r,
               CASE WHEN al.created_at > now() - interval '10 minutes' THEN 'pending'
                    WHEN al.created_at > now() - interval '2 days' AND al.id % 97 = 0 THEN 'pending'
                    WHEN sub.mode = 'digest' THEN 'digested'
                    WHEN ch.kind <> 'console' AND random() < 0.04 THEN 'failed'
                    ELSE 'sent' END AS status
        FROM alerts al
        JOIN subscriptions sub ON sub.id = al.subscription_id
        JOIN subscription_channels sc ON sc.subscription_id = al.subscription_id
        JOIN channels ch ON ch.id = sc.channel_id
    ) AS d
    """,
    """
    UPDATE alerts al SET status = d.status
    FROM (
        SELECT alert_id,
               CASE WHEN bool_or(status = 'pending') THEN 'pending'
                    WHEN bool_and(status = 'failed') THEN 'failed'
                    WHEN bool_or(status = 'failed') THEN 'partial'
                    WHEN bool_and(status = 'digested') THEN 'digested'
                    ELSE 'sent' END AS status
        FROM deliveries GROUP BY alert_id
    ) AS d
    WHERE d.alert_id = al.id
    """,
    # --- fetch log: every 4 to 10 hours per feed, a few failures, some feeds failing now --------
    """
    INSERT INTO fetch_log (feed_id, started_at, duration_ms, status_code, bytes, entries, new_entries, error)
    SELECT feed_id, started_at, 80 + floor(random() * 900)::int,
           CASE WHEN failing OR r < 0.012 THEN (ARRAY[503, 500, 404, NULL])[1 + floor(random() * 4)::int]
                WHEN r < 0.42 THEN 304 ELSE 200 END AS status_code,
           CASE WHEN r >= 0.42 AND NOT failing THEN 20000 + floor(random() * 80000)::int ELSE 0 END,
           CASE WHEN r >= 0.42 AND NOT failing THEN 20 + floor(random() * 30)::int ELSE 0 END,
           CASE WHEN r >= 0.42 AND NOT failing THEN floor(random() * 4)::int ELSE 0 END,
           NULL
    FROM (
        SELECT f.id AS feed_id, t.started_at, random() AS r,
               (f.id % 37 = 3 AND t.started_at > now() - (f.id % 5) * interval '1 day' - interval '5 hours') AS failing
        FROM feeds f
        CROSS JOIN LATERAL generate_series(now() - interval '365 days' + f.id * interval '1 minute',
                                           coalesce(f.disabled_at, now()) - interval '1 minute',
                                           f.poll_interval_s * interval '1 second') AS t(started_at)
    ) AS l
    """,
    """
    UPDATE fetch_log SET error = CASE WHEN status_code IS NULL THEN 'timeout after 30 s'
                                      ELSE 'HTTP ' || status_code || ' from server' END
    WHERE status_code IS NULL OR status_code >= 400
    """,
    """
    UPDATE fetch_log SET error = 'document declared as us-ascii, parsed as utf-8'
    WHERE status_code = 200 AND id % 97 = 0
    """,
    """
    UPDATE feeds f SET last_polled_at = s.last_polled_at,
                       last_success_at = s.last_success_at,
                       consecutive_failures = coalesce(t.failures, 0),
                       last_error = t.last_error,
                       next_poll_at = s.last_polled_at + f.poll_interval_s * interval '1 second',
                       etag = '"' || md5(f.id::text) || '"'
    FROM (
        SELECT feed_id, max(started_at) AS last_polled_at,
               max(started_at) FILTER (WHERE status_code < 400) AS last_success_at
        FROM fetch_log GROUP BY feed_id
    ) AS s
    LEFT JOIN (
        SELECT l.feed_id, count(*) AS failures, (array_agg(l.error ORDER BY l.started_at DESC))[1] AS last_error
        FROM fetch_log l
        JOIN (SELECT feed_id, max(started_at) FILTER (WHERE status_code < 400) AS last_success_at
              FROM fetch_log GROUP BY feed_id) AS ok ON ok.feed_id = l.feed_id
        WHERE l.started_at > coalesce(ok.last_success_at, '-infinity')
        GROUP BY l.feed_id
    ) AS t ON t.feed_id = s.feed_id
    WHERE s.feed_id = f.id
    """,
    """
    UPDATE feeds f SET entries_per_day = e.per_day * (0.8 + 0.4 * random())
    FROM (SELECT feed_id, count(*) / 30.0 AS per_day FROM feed_entries
          WHERE first_seen_at > now() - interval '30 days' GROUP BY feed_id) AS e
    WHERE e.feed_id = f.id
    """,
    # --- reader labels --------------------------------------------------------------------------
    """
    INSERT INTO labels (article_id, relevant, created_at)
    SELECT i, CASE WHEN random() < 0.9 THEN relevant ELSE NOT relevant END, fetched_at + interval '1 day'
    FROM gen_article WHERE i % 200 = 0 AND fetched_at < now() - interval '1 day'
    """,
]
PLAIN_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = 'public' AND i.tablename = ANY(:tables)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = to_regclass('public.' || quote_ident(i.indexname)))
ORDER BY i.indexname
"""
# Per-column statistics targets of those indexes (e.g. SET STATISTICS 0), to restore after the rebuild.
INDEX_STATISTICS = """
SELECT c.relname, a.attnum, a.attstattarget FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relkind = 'i' AND c.relname = ANY(:names) AND a.attstattarget >= 0
"""
SEQUENCED_TABLES = ["channels", "subscriptions", "feeds", "stories", "articles"]
COUNTED_TABLES = [
    "articles",
    "feeds",
    "stories",
    "feed_entries",
    "classifications",
    "alerts",
    "deliveries",
    "fetch_log",
    "labels",
]
SMALL_TABLES = ["channels", "subscriptions", "subscription_channels"]


def _parameters(articles: int, feeds: int, seed: float) -> dict[str, object]:
    return {
        "seed": seed,
        "articles": articles,
        "feeds": feeds,
        "entity_names": [name for name, _zh in ENTITIES],
        "entity_zh": [zh for _name, zh in ENTITIES],
        "topic_ids": [topic for topic, _en, _zh in TOPICS],
        "topic_en": [en for _topic, en, _zh in TOPICS],
        "topic_zh": [zh for _topic, _en, zh in TOPICS],
        "verbs_en": VERBS_EN,
        "verbs_zh": VERBS_ZH,
        "off_beat_en": OFF_BEAT_EN,
        "off_beat_zh": OFF_BEAT_ZH,
        "filler_en": FILLER_EN,
        "filler_zh": FILLER_ZH,
        "outlets_en": OUTLETS_EN,
        "outlets_zh": OUTLETS_ZH,
        "outlets_zh_hant": OUTLETS_ZH_HANT,
    }


def load_admin_dataset(engine: Engine, articles: int = 100_000, feeds: int = 300, seed: float = 0.42) -> dict[str, int]:
    """Fill an empty, migrated PostgreSQL database, index and ANALYZE it. Returns each table's row count.

    The tables' plain indexes (those backing no constraint) are dropped for the load and
    rebuilt afterwards from their own definitions, side by side: the full-text, trigram and
    bigram indexes cost most of the load, and one build per core nearly halves it.
    """
    parameters = _parameters(articles, feeds, seed)
    with engine.begin() as connection:
        if connection.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one():
            # Skip the foreign-key triggers, much of the insert time: the rows are consistent by construction
            # (tests/admin checks every foreign key afterwards).
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        indexes = connection.execute(text(PLAIN_INDEXES), {"tables": COUNTED_TABLES}).all()
        rebuild = {name: [definition] for name, definition in indexes}
        for name, column, target in connection.execute(text(INDEX_STATISTICS), {"names": list(rebuild)}):
            rebuild[name].append(f'ALTER INDEX "{name}" ALTER COLUMN {column} SET STATISTICS {target}')
        for name, _definition in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))
        for statement in STATEMENTS:
            used = {name: value for name, value in parameters.items() if re.search(rf":{name}\b", statement)}
            connection.execute(text(statement), used)
        for table in SEQUENCED_TABLES:
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
    slowest_first = sorted(rebuild.values(), key=lambda statements: " USING gin " not in statements[0])
    _run_concurrently(engine, slowest_first)
    _run_concurrently(engine, [[f"ANALYZE {table}"] for table in [*COUNTED_TABLES, *SMALL_TABLES]])
    with engine.connect() as connection:
        return {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in COUNTED_TABLES
        }


def _run_concurrently(engine: Engine, jobs: list[list[str]]) -> None:
    """Run each job (statements in order, on one connection) alongside the others."""

    def run(statements: list[str]) -> None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SET maintenance_work_mem = '256MB'"))
            for statement in statements:
                connection.execute(text(statement))

    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        list(pool.map(run, jobs))
