"""Spanish words for what a request says besides its trade (`model.RequestWords`; `english_words` has English's).

Data: the phrase tables and patterns `signals` reads for a request `detect_language` finds Spanish, each one the
counterpart of the English pattern of the same name, so "se inundó el sótano, presupuesto de 300" gives what
"the basement flooded, budget of 300" gives. Requirements map to the English canonical names (owners read them).
Accents are optional everywhere ("dólares" / "dolares"): people type without them; "1.500" is a thousand and
five hundred, as Spanish writes it.
"""

from __future__ import annotations

import re

from leadapp.core.services.classify.model import _any, _PhraseTable

_REQUIREMENT_PHRASES: dict[str, tuple[str, ...]] = {
    "licensed": ("con licencia", "licenciado", "licencia"),
    "insured": ("asegurado", "asegurada", "con seguro"),
    "bonded": ("afianzado", "con fianza"),
    "same day": ("el mismo día", "mismo día", "mismo dia"),
    "weekend": ("fin de semana", "sábado", "sabado", "domingo"),
    "evening": ("por la noche", "en la noche", "después del trabajo", "despues del trabajo"),
    "warranty": ("garantía", "garantia", "garantizado"),
    "free estimate": (
        "presupuesto gratis",
        "presupuesto gratuito",
        "cotización gratis",
        "cotizacion gratis",
        "estimado gratis",
    ),
    "background checked": ("verificación de antecedentes", "verificacion de antecedentes", "antecedentes"),
    "references": ("referencias",),
}

# Equipment and fixtures: canonical (English) name -> ways people write it in Spanish.
_EQUIPMENT_PHRASES: dict[str, tuple[str, ...]] = {
    "water heater": ("calentador de agua", "calentador", "boiler"),
    "tankless water heater": ("calentador sin tanque", "calentador de paso"),
    "furnace": ("calefactor", "calefacción central", "calefaccion central"),
    "air conditioner": ("aire acondicionado", "unidad de aire"),
    "heat pump": ("bomba de calor",),
    "thermostat": ("termostato",),
    "boiler": ("caldera",),
    "mini split": ("mini split", "minisplit"),
    "sump pump": ("bomba de sumidero", "bomba de achique"),
    "garbage disposal": ("triturador de basura", "triturador"),
    "toilet": ("inodoro", "excusado", "escusado", "taza del baño"),
    "faucet": ("grifo", "llave del agua", "llave de agua", "llave del lavabo"),
    "sink": ("fregadero", "lavabo", "lavamanos", "lavaplatos de la cocina"),
    "shower": ("regadera", "ducha"),
    "bathtub": ("bañera", "banera", "tina"),
    "sewer line": ("línea de drenaje", "linea de drenaje", "alcantarillado"),
    "water softener": ("suavizador de agua", "ablandador de agua"),
    "electrical panel": ("panel eléctrico", "panel electrico", "caja de fusibles", "tablero eléctrico"),
    "circuit breaker": ("interruptor automático", "breaker"),
    "outlet": ("enchufe", "tomacorriente"),
    "ceiling fan": ("ventilador de techo",),
    "ev charger": ("cargador eléctrico", "cargador para carro eléctrico", "cargador para auto eléctrico"),
    "generator": ("generador", "planta de luz"),
    "light fixture": ("lámpara", "lampara", "candelabro"),
    "washer": ("lavadora",),
    "dryer": ("secadora",),
    "refrigerator": ("refrigerador", "refrigeradora", "nevera", "refri"),
    "freezer": ("congelador",),
    "dishwasher": ("lavavajillas", "lavaplatos"),
    "oven": ("horno",),
    "stove": ("estufa", "cocina eléctrica"),
    "microwave": ("microondas",),
    "ice maker": ("máquina de hielo", "maquina de hielo", "fábrica de hielo"),
    "garage door opener": ("abridor de la puerta del garaje", "abridor de garaje", "motor de la puerta del garaje"),
    "garage door spring": ("resorte de la puerta del garaje", "resorte de torsión", "resorte"),
    "gutters": ("canaleta", "canalón", "canalon"),
    "deck": ("terraza de madera", "deck"),
    "fence": ("valla", "cerco", "reja"),
    "hot tub": ("jacuzzi", "tina de hidromasaje"),
    "pool pump": ("bomba de la piscina", "bomba de la alberca", "bomba de piscina", "bomba de alberca"),
    "pool heater": ("calentador de la piscina", "calentador de piscina", "calentador de alberca"),
    "deadbolt": ("cerrojo", "pasador de seguridad"),
    "skylight": ("tragaluz", "claraboya"),
    "sliding door": ("puerta corrediza", "puerta del patio"),
    "chimney": ("chimenea",),
}

REQUIREMENTS = _PhraseTable(
    [(phrase, name) for name, phrases in _REQUIREMENT_PHRASES.items() for phrase in phrases]
    + [(phrase, name) for name, phrases in _EQUIPMENT_PHRASES.items() for phrase in phrases]
)

MEASUREMENT = re.compile(
    r"(?<![\w.])[0-9]+(?:\.[0-9]+)?\s*-?\s*(?:galones|galón|galon|gal|pies\s+cuadrados|metros\s+cuadrados|m2|"
    r"pies|pie|metros?|pulgadas?|amperios?|amps?|toneladas?|btus?|voltios?|pisos?|plantas|recámaras?|recamaras?|"
    r"habitaciones|habitación|habitacion|cuartos?|baños?|banos?|acres?|libras?|lbs?|ventanas|puertas|enchufes|"
    r"árboles|arboles)(?!\w)"
    r"|(?<![\w.])[0-9]+\s*'?\s*(?:x|por)\s*[0-9]+\s*'?(?![\w])",
    re.IGNORECASE,
)
AGE = re.compile(
    r"(?<![\w.])[0-9]+\s*a[ñn]os\s+de\s+(?:antig[üu]edad|uso|vida)"
    r"|(?:tiene|de|con)\s+[0-9]+\s*a[ñn]os(?!\w)"
    r"|(?:instalad[oa]|construid[oa]|comprad[oa])\s+en\s+(?:19|20)[0-9]{2}",
    re.IGNORECASE,
)
ROOMS = _any(
    [
        "cocina",
        r"s[óo]tano",
        r"[áa]tico",
        "garaje",
        "cochera",
        r"ba[ñn]o",
        r"rec[áa]mara",
        "dormitorio",
        r"cuarto\s+de\s+lavado",
        r"lavander[íi]a",
        "sala",
        r"planta\s+(?:alta|baja)",
        r"patio\s+trasero",
        r"jard[íi]n\s+delantero",
        "pasillo",
        r"(?:primer|segundo|tercer)\s+piso",
    ]
)

AMOUNT = re.compile(
    r"(?<![\w,.$])(?P<dollar>\$\s*)?(?P<num>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,3}(?:\.[0-9]{3})+(?![0-9])|[0-9]+)(?P<dec>\.[0-9]+)?(?![0-9]|,[0-9])"
    r"(?:\s*(?P<k>k|mil)(?!\w))?",
    re.IGNORECASE,
)
DOLLAR_WORDS = re.compile(r"\s*(?:d[óo]lares|d[óo]lar|usd)(?!\w)", re.IGNORECASE)
UNIT_AFTER = re.compile(
    r"\s*-?\s*(?:galones|galón|galon|gal|a[ñn]os?|pies?|metros?|m2|pulgadas?|amperios?|amps?|toneladas?|btus?|"
    r"voltios?|pisos?|plantas|cuartos?|habitaciones|habitación|habitacion|rec[áa]maras?|ba[ñn]os?|d[íi]as?|"
    r"semanas?|meses|mes|horas?|hrs?|minutos?|mins?|millas?|libras?|lbs?|acres?|ventanas|puertas|personas|"
    r"veces|vez|am|pm|x|por)(?!\w)|\s*[:%/]",
    re.IGNORECASE,
)
BUDGET_CONTEXT = re.compile(
    r"(?<!\w)(?:presupuesto|pagar|pago|gastar|gasto|precio|costo|cuesta|cobran|cotizaci[óo]n|ofrezco|ofrecemos|"
    r"dispuest[oa]s?|alcanza)(?!\w)[^.!?\n]*$",
    re.IGNORECASE,
)
ZIP_BEFORE = re.compile(r"(?:c[óo]digo\s+postal|zip(?:\s*code)?)\s*(?:es\s*)?(?:el\s*)?:?\s*$", re.IGNORECASE)
RANGE_GAP = re.compile(r"^\s*(?:-|–|—|a|y|hasta)\s*$", re.IGNORECASE)
MAX_BEFORE = re.compile(
    r"(?:menos\s+de|por\s+debajo\s+de|hasta|no\s+m[áa]s\s+de|m[áa]ximo(?:\s+de)?|como\s+m[áa]ximo|a\s+lo\s+sumo|"
    r"sin\s+pasar\s+de|no\s+exceder)\s*:?\s*$",
    re.IGNORECASE,
)
MIN_BEFORE = re.compile(
    r"(?:m[áa]s\s+de|arriba\s+de|al\s+menos|por\s+lo\s+menos|m[íi]nimo(?:\s+de)?|desde|a\s+partir\s+de)\s*:?\s*$",
    re.IGNORECASE,
)

EMERGENCY = _any(
    [
        r"(?<!no es una )(?<!no es )(?<!sin )emergencias?",
        r"inund(?:ó|o|a|an|ado|ada|ados|adas|ación|acion|ando)",
        r"olor\s+a\s+gas",
        r"huele\s+a\s+gas",
        r"fuga\s+de\s+gas",
        r"chispas?",
        r"chispea(?:ndo|n)?",
        r"(?:tubería|tuberia|tubo|caño|cano)s?\s+(?:reventad[oa]s?|estallad[oa]s?)",
        r"revent(?:ó|o|aron)",
        r"agua\s+por\s+todas\s+partes",
        r"agua\s+por\s+todos\s+lados",
        "humo",
        r"olor\s+a\s+quemado",
        r"huele\s+a\s+quemado",
        r"mon[óo]xido\s+de\s+carbono",
        "fuego",
        r"incendio(?!\s+(?:alarma|extintor))",
    ]
)
NO_HEAT = _any(
    [
        r"(?:no\s+hay|sin|no\s+tengo|no\s+tenemos)\s+(?:calefacci[óo]n|calor)",
        r"(?:calefactor|calefacci[óo]n)\s+(?:no\s+(?:funciona|prende|enciende|sirve)|se\s+(?:apag[óo]|descompuso))",
    ]
)
COLD = _any([r"congel\w*", r"helad\w*", r"bajo\s+cero", r"fr[íi]o"])
HIGH_TIMING = _any(
    [
        "hoy",
        r"esta\s+noche",
        r"(?<!no )(?<!no es )(?<!nada )urgente(?:mente)?",
        r"(?<!no )urge",
        r"lo\s+antes\s+posible",
        r"lo\s+m[áa]s\s+pronto\s+posible",
        r"cuanto\s+antes",
        r"de\s+inmediato",
        r"inmediatamente",
        r"ahora\s+mismo",
        r"ya\s+mismo",
        r"esta\s+(?:ma[ñn]ana|tarde)",
        r"(?:el\s+)?mismo\s+d[íi]a",
        # "mañana" is tomorrow; "la mañana" (in the morning) is not.
        r"(?<!la )(?<!las )(?<!una )(?<!esta )ma[ñn]ana",
        r"r[áa]pido",
        r"r[áa]pidamente",
    ]
)
HIGH_CONDITION = _any(
    [
        r"fugas?",
        r"gotea(?:ndo|n)?",
        r"goteras?",
        "goteo",
        r"(?:no\s+hay|sin|no\s+tengo|no\s+tenemos|no\s+sale)\s+agua",
        r"(?:no\s+hay|sin|no\s+tengo|no\s+tenemos)\s+(?:calefacci[óo]n|calor)",
        r"(?:no\s+hay|sin|no\s+tengo|no\s+tenemos)\s+aire(?:\s+acondicionado)?",
        r"no\s+(?:enfr[íi]a|calienta)",
        r"(?:no\s+hay|sin|no\s+tengo|no\s+tenemos)\s+(?:luz|electricidad|corriente)",
        r"se\s+fue\s+la\s+luz",
        r"(?:me|nos)\s+qued(?:é|e|amos)\s+(?:afuera|fuera)",
        r"no\s+puedo\s+entrar",
        r"desbord\w*",
        r"se\s+regresa\s+el\s+agua",
        r"no\s+(?:cierra|abre)",
        r"ventana\s+rota",
    ]
)
LOW = _any(
    [
        r"sin\s+prisa",
        r"no\s+hay\s+prisa",
        r"no\s+tengo\s+prisa",
        r"sin\s+apuro",
        r"no\s+hay\s+apuro",
        r"no\s+es\s+urgente",
        r"nada\s+urgente",
        r"no\s+urge",
        r"cuando\s+(?:pueda|puedan|sea|le\s+convenga|les\s+convenga|tengan\s+tiempo)",
        r"alg[úu]n\s+d[íi]a",
        r"pr[óo]xim[oa]\s+(?:mes|a[ñn]o|primavera|verano|oto[ñn]o|invierno)",
        r"el\s+(?:mes|a[ñn]o)\s+que\s+viene",
        r"en\s+(?:unas|unos)\s+(?:semanas|meses)",
        r"(?:horario|fechas?|tiempo)\s+(?:es\s+|son\s+)?flexibles?",
        r"soy\s+flexible",
        "eventualmente",
        r"planeando",
        r"planeamos",
    ]
)
NORMAL_TIMING = _any(
    [
        r"esta\s+semana",
        r"(?:en|dentro\s+de)\s+(?:una|la\s+pr[óo]xima)\s+semana",
        r"(?:la\s+)?pr[óo]xima\s+semana",
        r"la\s+semana\s+que\s+viene",
        r"en\s+unos\s+(?:pocos\s+)?d[íi]as",
        r"(?:este|el\s+pr[óo]ximo|el)\s+fin\s+de\s+semana",
        r"el\s+pr[óo]ximo\s+(?:lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bado|domingo)",
        r"(?:una|dos|un\s+par\s+de)\s+semanas?",
        r"normal",
    ]
)

FRUSTRATED = re.compile(
    r"!{3,}|"
    + _any(
        [
            r"otra\s+vez",
            r"de\s+nuevo",
            r"(?:segunda|tercera|cuarta)\s+vez",
            r"hart[oa]s?",
            r"cansad[oa]s?\s+de",
            r"rid[íi]cul[oa]",
            "inaceptable",
            r"frustrad\w*",
            r"furios[oa]",
            r"todav[íi]a\s+(?:no|gotea|sigue|sin)",
            r"sigue\s+(?:goteando|roto|rota|sin)",
            r"nunca\s+(?:vino|llegó|llego|vinieron|llegaron)",
            r"no\s+se\s+present(?:ó|o|aron)",
        ]
    ).pattern,
    re.IGNORECASE,
)
NEGATIVE = _any(
    [
        "terrible",
        "horrible",
        r"p[ée]sim[oa]",
        r"decepcion\w*",
        r"molest[oa]",
        r"enojad[oa]",
        r"enfadad[oa]",
        r"arruin\w*",
        r"estaf\w*",
        r"mala\s+experiencia",
        r"mal\s+(?:trabajo|servicio)",
        "odio",
    ]
)
POSITIVE = _any(
    [
        "gracias",
        r"agradec\w*",
        "excelente",
        r"maravillos[oa]",
        "encanta",
        "feliz",
        r"content[oa]",
        "genial",
        r"incre[íi]ble",
    ]
)

CHEAP = re.compile(
    r"(?<![\w-])(?<!presupuesto )(?<!cotización )(?<!cotizacion )(?<!estimado )(?<!consulta )(?<!inspección )"
    r"(?:gratis|gratuit[oa]|barat[oa]s?|econ[óo]mic[oa]s?)(?![\w-])",
    re.IGNORECASE,
)

BUDGET_WORD = "presupuesto"
