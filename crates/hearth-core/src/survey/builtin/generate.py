# Generates the built-in instruments (visit-experience.json, hope-grid.json, hope-scale-template.json).
# The JSON files are what Hearth ships; edit here and rerun `python3 generate.py` in this folder to keep
# the three languages in step.
import json
TR = "http://hl7.org/fhir/StructureDefinition/translation"
ORD = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
SCORE = "https://hearth.dev/fhir/StructureDefinition/survey-score"
ACTION = "https://hearth.dev/fhir/StructureDefinition/survey-action"

def tr(es, ar):
    return {"extension": [
        {"url": TR, "extension": [{"url": "lang", "valueCode": "es"}, {"url": "content", "valueString": es}]},
        {"url": TR, "extension": [{"url": "lang", "valueCode": "ar"}, {"url": "content", "valueString": ar}]}]}

def opt(code, en, es, ar, ordinal):
    return {"valueCoding": {"system": "https://hearth.dev/fhir/CodeSystem/survey-answer", "code": code, "display": en, "_display": tr(es, ar)},
            "extension": [{"url": ORD, "valueDecimal": ordinal}]}

def q(link, typ, en, es, ar, **kw):
    d = {"linkId": link, "type": typ, "text": en, "_text": tr(es, ar)}
    d.update(kw)
    return d

def score(name, method, items, bands=(), missing=None, min_answered=None):
    ext = [{"url": "name", "valueString": name}, {"url": "method", "valueCode": method}]
    ext += [{"url": "item", "valueString": i} for i in items]
    if missing: ext.append({"url": "missing", "valueCode": missing})
    if min_answered: ext.append({"url": "minAnswered", "valueInteger": min_answered})
    ext += [{"url": "band", "valueString": b} for b in bands]
    return {"url": SCORE, "extension": ext}

def action(name, owner, due, **cond):
    ext = [{"url": "name", "valueString": name}]
    for k, v in cond.items():
        ext.append({"url": k, "valueString": v})
    ext += [{"url": "owner", "valueString": owner}, {"url": "dueHours", "valueInteger": due}]
    return {"url": ACTION, "extension": ext}

def base(slug, title, tes, tar, desc, des, dar):
    return {"resourceType": "Questionnaire", "id": slug, "url": f"https://hearth.dev/fhir/Questionnaire/{slug}",
            "version": "1", "name": slug.replace("-", "_"), "title": title, "_title": tr(tes, tar),
            "description": desc, "_description": tr(des, dar),
            "status": "active", "language": "en", "subjectType": ["Patient"], "publisher": "Hearth"}

# 1. Visit experience
five_sat = [("1", "Very dissatisfied", "Muy insatisfecho", "غير راضٍ إطلاقًا", 1), ("2", "Dissatisfied", "Insatisfecho", "غير راضٍ", 2),
            ("3", "Neither satisfied nor dissatisfied", "Ni satisfecho ni insatisfecho", "محايد", 3),
            ("4", "Satisfied", "Satisfecho", "راضٍ", 4), ("5", "Very satisfied", "Muy satisfecho", "راضٍ جدًا", 5)]
five_ease = [("1", "Very difficult", "Muy difícil", "صعب جدًا", 1), ("2", "Difficult", "Difícil", "صعب", 2),
             ("3", "Neither easy nor difficult", "Ni fácil ni difícil", "لا سهل ولا صعب", 3),
             ("4", "Easy", "Fácil", "سهل", 4), ("5", "Very easy", "Muy fácil", "سهل جدًا", 5)]
clear = [("yes", "Yes, completely", "Sí, completamente", "نعم، تمامًا", 3), ("somewhat", "Yes, somewhat", "Sí, en parte", "نعم، إلى حد ما", 2),
         ("no", "No", "No", "لا", 1)]
nps = [opt(str(i), str(i), str(i), str(i), i) for i in range(11)]
nps[0]["valueCoding"].update({"display": "0 – Not at all likely", "_display": tr("0 – Nada probable", "0 – غير محتمل إطلاقًا")})
nps[10]["valueCoding"].update({"display": "10 – Extremely likely", "_display": tr("10 – Muy probable", "10 – محتمل جدًا")})
visit = base("visit-experience", "Your visit", "Su visita", "زيارتك",
             "A short survey about your visit. It takes about two minutes.",
             "Una breve encuesta sobre su visita. Toma unos dos minutos.",
             "استبيان قصير عن زيارتك. يستغرق نحو دقيقتين.")
visit["item"] = [
    q("satisfaction", "choice", "Overall, how satisfied are you with your visit?", "En general, ¿qué tan satisfecho está con su visita?",
      "بشكل عام، ما مدى رضاك عن زيارتك؟", required=True, answerOption=[opt(*o) for o in five_sat]),
    q("recommend", "choice", "How likely are you to recommend us to a friend or family member?",
      "¿Qué tan probable es que nos recomiende a un amigo o familiar?", "ما مدى احتمال أن توصي بنا لصديق أو أحد أفراد عائلتك؟",
      required=True, answerOption=nps),
    q("scheduling", "choice", "How easy was it to schedule your appointment?", "¿Qué tan fácil fue programar su cita?",
      "ما مدى سهولة حجز موعدك؟", answerOption=[opt(*o) for o in five_ease]),
    q("clinician-clear", "choice", "Did the clinician explain things in a way you could understand?",
      "¿El profesional le explicó las cosas de forma que pudiera entenderlas?", "هل شرح لك الطبيب الأمور بطريقة استطعت فهمها؟",
      answerOption=[opt(*o) for o in clear]),
    q("do-better", "text", "What could we do better?", "¿Qué podríamos hacer mejor?", "ما الذي يمكننا تحسينه؟", maxLength=2000),
    q("contact-me", "boolean", "Would you like someone from the clinic to contact you about your visit?",
      "¿Desea que alguien de la clínica se comunique con usted sobre su visita?", "هل تود أن يتواصل معك أحد من العيادة بخصوص زيارتك؟"),
]
visit["extension"] = [
    score("satisfaction", "sum", ["satisfaction"], ["dissatisfied:1-2", "neutral:3-3", "satisfied:4-5"]),
    score("nps", "sum", ["recommend"], ["detractor:0-6", "passive:7-8", "promoter:9-10"]),
    score("experience", "mean", ["satisfaction", "scheduling", "clinician-clear"], missing="prorate", min_answered=2),
    action("nps-detractor", "px_coordinator", 48, score="nps", band="detractor"),
    action("contact-requested", "px_coordinator", 24, item="contact-me", answer="true"),
]

# 2. Before/after hope grid
hope4 = [("none", "No hope", "Ninguna esperanza", "لا أمل", 1), ("little", "Little hope", "Poca esperanza", "أمل قليل", 2),
         ("some", "Some hope", "Algo de esperanza", "بعض الأمل", 3), ("strong", "Strong hope", "Mucha esperanza", "أمل كبير", 4)]
statements = [
    ("coping", "Coping with my health", "Sobrellevar mi salud", "التعامل مع حالتي الصحية"),
    ("goals", "Reaching the goals I set for myself", "Alcanzar las metas que me propongo", "تحقيق الأهداف التي أضعها لنفسي"),
    ("daily", "Managing my day-to-day life", "Manejar mi vida diaria", "إدارة حياتي اليومية"),
    ("support", "Getting the support I need", "Recibir el apoyo que necesito", "الحصول على الدعم الذي أحتاجه"),
    ("future", "My health in the future", "Mi salud en el futuro", "صحتي في المستقبل"),
]
grid = base("hope-grid", "Hope before and after your visit", "Esperanza antes y después de su visita", "الأمل قبل زيارتك وبعدها",
            "For each statement, tell us how much hope you had before this visit and how much you have now.",
            "Para cada frase, díganos cuánta esperanza tenía antes de esta visita y cuánta tiene ahora.",
            "لكل عبارة، أخبرنا بمقدار الأمل الذي كان لديك قبل هذه الزيارة ومقداره الآن.")
grid["item"] = []
for slug, en, es, ar in statements:
    grid["item"].append(q(slug, "group", en, es, ar, item=[
        q(f"{slug}.before", "choice", "Before this visit", "Antes de esta visita", "قبل هذه الزيارة", required=True, answerOption=[opt(*o) for o in hope4]),
        q(f"{slug}.now", "choice", "Now", "Ahora", "الآن", required=True, answerOption=[opt(*o) for o in hope4]),
    ]))
grid["extension"] = [
    score("before-sum", "sum", [f"{s[0]}.before" for s in statements]),
    score("after-sum", "sum", [f"{s[0]}.now" for s in statements]),
    score("change", "difference", ["after-sum", "before-sum"], ["worse:-15--1", "same:0-0", "better:1-15"]),
]

# 3. Hope scale template
eight = [("1", "Definitely false", "Totalmente falso", "خطأ تمامًا", 1), ("2", "Mostly false", "Mayormente falso", "خطأ في الغالب", 2),
         ("3", "Somewhat false", "Algo falso", "خطأ إلى حد ما", 3), ("4", "Slightly false", "Ligeramente falso", "خطأ قليلًا", 4),
         ("5", "Slightly true", "Ligeramente cierto", "صحيح قليلًا", 5), ("6", "Somewhat true", "Algo cierto", "صحيح إلى حد ما", 6),
         ("7", "Mostly true", "Mayormente cierto", "صحيح في الغالب", 7), ("8", "Definitely true", "Totalmente cierto", "صحيح تمامًا", 8)]
roles = {1: "pathways", 2: "agency", 3: "filler", 4: "pathways", 5: "filler", 6: "pathways", 7: "filler", 8: "pathways",
         9: "agency", 10: "agency", 11: "filler", 12: "agency"}
role_tr = {"agency": ("agency", "agencia", "الإرادة"), "pathways": ("pathways", "caminos", "المسارات"), "filler": ("not scored", "sin puntuación", "لا يُحتسب")}
scale = base("hope-scale-template", "Hope scale (template)", "Escala de esperanza (plantilla)", "مقياس الأمل (نموذج)",
             "The structure of a 12-item, 8-point agency/pathways scale. Replace each item's text with the wording your clinic is licensed to use.",
             "La estructura de una escala de 12 ítems y 8 puntos (agencia/caminos). Reemplace el texto de cada ítem por el que su clínica tenga licencia para usar.",
             "هيكل مقياس من 12 بندًا و8 درجات (الإرادة/المسارات). استبدل نص كل بند بالصياغة المرخّصة لعيادتك.")
scale["status"] = "draft"
scale["item"] = [q("instructions", "display", "Read each item and choose the answer that best describes you.",
                   "Lea cada ítem y elija la respuesta que mejor lo describa.", "اقرأ كل بند واختر الإجابة التي تصفك أفضل وصف.")]
for i in range(1, 13):
    r = roles[i]
    en, es, ar = role_tr[r]
    scale["item"].append(q(f"item{i}", "choice", f"Item {i} ({en}): text supplied by the clinic",
                           f"Ítem {i} ({es}): texto proporcionado por la clínica", f"البند {i} ({ar}): نص تقدّمه العيادة",
                           required=True, answerOption=[opt(*o) for o in eight]))
agency = [f"item{i}" for i in range(1, 13) if roles[i] == "agency"]
pathways = [f"item{i}" for i in range(1, 13) if roles[i] == "pathways"]
scale["extension"] = [
    score("agency", "sum", agency, missing="prorate", min_answered=3),
    score("pathways", "sum", pathways, missing="prorate", min_answered=3),
    score("total", "sum", sorted(agency + pathways, key=lambda s: int(s[4:])), missing="prorate", min_answered=6),
]

for name, doc in [("visit-experience", visit), ("hope-grid", grid), ("hope-scale-template", scale)]:
    with open(f"{name}.json", "w") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
