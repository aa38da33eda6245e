"""The product's vocabularies, stored as their string values in the database."""

from enum import StrEnum

from pec_tui.i18n import N_, NC_


class Plan(StrEnum):
    STANDARD = "STANDARD"
    PRO = "PRO"
    PREMIUM = "PREMIUM"


class MailboxState(StrEnum):
    ACTIVE = "attiva"
    SUSPENDED = "sospesa"
    CANCELLED = "cancellata"


class HolderKind(StrEnum):
    PRIVATE = "privato"
    SOLE_TRADER = "ditta_individuale"
    PROFESSIONAL = "libero_professionista"
    COMPANY = "azienda"
    PUBLIC_ADMIN = "pubblica_amministrazione"

    @property
    def needs_billing(self) -> bool:
        return self is not HolderKind.PRIVATE

    @property
    def is_business(self) -> bool:
        return self in (HolderKind.SOLE_TRADER, HolderKind.PROFESSIONAL, HolderKind.COMPANY)


class OrderType(StrEnum):
    PURCHASE = "acquisto"
    RENEWAL = "rinnovo"


class OrderStatus(StrEnum):
    DRAFT = "bozza"
    AWAITING_PAYMENT = "in_attesa"
    PAID = "pagato"
    CANCELLED = "annullato"
    # Paid, then refunded by an administrator: the renewal taken back, a credit note issued.
    REFUNDED = "rimborsato"


class InvoiceStatus(StrEnum):
    ISSUED = "emessa"
    # Kept with its number and the reason it did not validate, regenerated once fixed.
    TO_FIX = "da_correggere"


class PaymentMethod(StrEnum):
    CARD = "carta"
    PAYPAL = "paypal"
    BANK_TRANSFER = "bonifico"
    POSTAL_SLIP = "bollettino"
    PREPAID_CREDIT = "credito"


class SignatureKit(StrEnum):
    SMART_CARD = "smart_card"
    USB_TOKEN = "usb_token"
    REMOTE = "remota"


class PriceItem(StrEnum):
    """Codes of the editable price list."""

    STANDARD = "STANDARD"
    PRO = "PRO"
    PREMIUM = "PREMIUM"
    EXTRA_MAILBOX_GB = "EXTRA_MAILBOX_GB"
    EXTRA_ARCHIVE_GB = "EXTRA_ARCHIVE_GB"
    KIT_SMART_CARD = "KIT_SMART_CARD"
    KIT_USB_TOKEN = "KIT_USB_TOKEN"
    KIT_REMOTE = "KIT_REMOTE"

    @classmethod
    def for_plan(cls, plan: Plan) -> "PriceItem":
        return cls(plan.value)

    @property
    def position(self) -> int:
        """Where the item stands in the price list (plans, extra space, kits): the order in
        which an order's lines are summed up."""
        return _PRICE_ITEM_POSITION[self]

    @classmethod
    def for_kit(cls, kit: SignatureKit) -> "PriceItem":
        return {
            SignatureKit.SMART_CARD: cls.KIT_SMART_CARD,
            SignatureKit.USB_TOKEN: cls.KIT_USB_TOKEN,
            SignatureKit.REMOTE: cls.KIT_REMOTE,
        }[kit]


_PRICE_ITEM_POSITION = {item: n for n, item in enumerate(PriceItem)}


class Role(StrEnum):
    ADMIN = "admin"
    RESELLER = "rivenditore"
    BACK_OFFICE = "backoffice"


# Labels shown on screen (translated through the catalogs at display time).
LABELS: dict[StrEnum, str | tuple[str, str]] = {
    MailboxState.ACTIVE: N_("Active"),
    MailboxState.SUSPENDED: N_("Suspended"),
    MailboxState.CANCELLED: N_("Cancelled"),
    HolderKind.PRIVATE: N_("Private person"),
    HolderKind.SOLE_TRADER: N_("Sole trader"),
    HolderKind.PROFESSIONAL: N_("Self-employed professional"),
    HolderKind.COMPANY: N_("Company"),
    HolderKind.PUBLIC_ADMIN: N_("Public administration"),
    OrderType.PURCHASE: N_("Purchase"),
    OrderType.RENEWAL: N_("Renewal"),
    OrderStatus.DRAFT: N_("Draft"),
    OrderStatus.AWAITING_PAYMENT: N_("Awaiting payment"),
    OrderStatus.PAID: N_("Paid"),
    OrderStatus.CANCELLED: NC_("order status", "Cancelled"),
    OrderStatus.REFUNDED: N_("Refunded"),
    InvoiceStatus.ISSUED: N_("Issued"),
    InvoiceStatus.TO_FIX: N_("To be corrected"),
    PaymentMethod.CARD: N_("Credit card"),
    PaymentMethod.PAYPAL: N_("PayPal"),
    PaymentMethod.BANK_TRANSFER: N_("Bank transfer"),
    PaymentMethod.POSTAL_SLIP: N_("Postal payment slip"),
    PaymentMethod.PREPAID_CREDIT: N_("Reseller prepaid credit"),
    SignatureKit.SMART_CARD: N_("Smart card + reader"),
    SignatureKit.USB_TOKEN: N_("USB token"),
    SignatureKit.REMOTE: N_("Remote signature"),
    PriceItem.KIT_SMART_CARD: N_("Smart card + reader"),
    PriceItem.KIT_USB_TOKEN: N_("USB token"),
    PriceItem.KIT_REMOTE: N_("Remote signature"),
    PriceItem.EXTRA_MAILBOX_GB: N_("Extra mailbox GB"),
    PriceItem.EXTRA_ARCHIVE_GB: N_("Extra archive GB"),
    Role.ADMIN: N_("Administrator"),
    Role.RESELLER: N_("Reseller operator"),
    Role.BACK_OFFICE: N_("Back office"),
}


def label(value: StrEnum) -> str:
    """The translated on-screen label of an enum value."""
    from pec_tui.i18n import _, pgettext

    text = LABELS.get(value)
    if text is None:
        return str(value)
    return pgettext(*text) if isinstance(text, tuple) else _(text)
